/**
 * An error the user can act on. Transports map the code: HTTP 400/404/409/412
 * and the matching gRPC status, and back.
 */
export type DomainErrorCode = 'invalid' | 'not_found' | 'conflict' | 'precondition';

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const invalid = (field: string, message: string) => new DomainError('invalid', `${field}: ${message}`, field);
export const notFound = (what: string) => new DomainError('not_found', `${what} not found`);
export const conflict = (message: string) => new DomainError('conflict', message);
export const precondition = (message: string) => new DomainError('precondition', message);
