import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { DomainError } from '@herald/contracts';

const STATUS = { invalid: 400, not_found: 404, conflict: 409, precondition: 409 } as const;

/** DomainErrors become 4xx with the field named; anything unexpected is a logged 500 without internals. */
@Catch()
export class HttpErrorsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(error: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (error instanceof DomainError) {
      res.status(STATUS[error.code]).json({ statusCode: STATUS[error.code], error: error.code, message: error.message, field: error.field ?? null });
      return;
    }
    if (error instanceof HttpException) {
      const body = error.getResponse();
      res.status(error.getStatus()).json(typeof body === 'string' ? { statusCode: error.getStatus(), message: body } : body);
      return;
    }
    const e = error as { type?: string; status?: number; message?: string };
    if (e?.type === 'entity.parse.failed' || e?.status === 400) {
      res.status(400).json({ statusCode: 400, error: 'invalid', message: `body: ${e.message ?? 'malformed request body'}` });
      return;
    }
    this.logger.error(error instanceof Error ? error.stack : String(error));
    res.status(500).json({ statusCode: 500, message: 'internal error' });
  }
}
