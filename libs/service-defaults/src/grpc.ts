import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { RpcException, Transport, type GrpcOptions } from '@nestjs/microservices';
import { DomainError, type DomainErrorCode } from '@herald/contracts';

export const PROTO_DIR = join(__dirname, '..', '..', '..', 'proto');

export const GRPC_SERVICES = {
  campaigns: { package: 'herald.campaigns.v1', service: 'Campaigns', proto: 'herald/campaigns.proto' },
  ingestion: { package: 'herald.ingestion.v1', service: 'Ingestion', proto: 'herald/ingestion.proto' },
  strategies: { package: 'herald.strategies.v1', service: 'Strategies', proto: 'herald/strategies.proto' },
  dispatch: { package: 'herald.dispatch.v1', service: 'Dispatch', proto: 'herald/dispatch.proto' },
  scheduler: { package: 'herald.scheduler.v1', service: 'Scheduler', proto: 'herald/scheduler.proto' },
} as const;
export type GrpcServiceName = keyof typeof GRPC_SERVICES;

export function grpcOptions(name: GrpcServiceName, url: string): GrpcOptions {
  const s = GRPC_SERVICES[name];
  return {
    transport: Transport.GRPC,
    options: {
      package: s.package,
      protoPath: join(PROTO_DIR, s.proto),
      url,
      loader: { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO_DIR] },
      maxReceiveMessageLength: 64 * 1024 * 1024,
      maxSendMessageLength: 64 * 1024 * 1024,
    },
  } as GrpcOptions;
}

const TO_GRPC: Record<DomainErrorCode, number> = {
  invalid: status.INVALID_ARGUMENT,
  not_found: status.NOT_FOUND,
  conflict: status.ALREADY_EXISTS,
  precondition: status.FAILED_PRECONDITION,
};
const FROM_GRPC = new Map<number, DomainErrorCode>(Object.entries(TO_GRPC).map(([k, v]) => [v, k as DomainErrorCode]));

/** Runs a gRPC handler, turning a DomainError into the matching status; the field travels in the message. */
export async function grpcCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DomainError) {
      throw new RpcException({ code: TO_GRPC[error.code], message: JSON.stringify({ message: error.message, field: error.field ?? null }) });
    }
    throw new RpcException({ code: status.INTERNAL, message: error instanceof Error ? error.message : String(error) });
  }
}

/** The other side: a gRPC status back into a DomainError, other failures unchanged. */
export function fromGrpcError(error: unknown): unknown {
  const e = error as { code?: number; details?: string };
  const code = e?.code !== undefined ? FROM_GRPC.get(e.code) : undefined;
  if (!code) return error;
  try {
    const parsed = JSON.parse(e.details ?? '') as { message: string; field: string | null };
    return new DomainError(code, parsed.message, parsed.field ?? undefined);
  } catch {
    return new DomainError(code, e.details ?? 'error');
  }
}
