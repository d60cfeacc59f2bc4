import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fromGrpcError, GRPC_SERVICES, PROTO_DIR, type GrpcServiceName } from '@herald/service-defaults';

type Unary = (request: object) => Promise<Record<string, unknown>>;

/** A promise-returning gRPC client of one of our services, with statuses mapped back to DomainErrors. */
export function grpcClient(name: GrpcServiceName, url: string): { call: Record<string, Unary>; close(): void } {
  const s = GRPC_SERVICES[name];
  const definition = protoLoader.loadSync(join(PROTO_DIR, s.proto), {
    keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO_DIR],
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as Record<string, unknown>;
  const Ctor = s.package.split('.').reduce<any>((o, k) => o[k], pkg)[s.service] as grpc.ServiceClientConstructor;
  const client = new Ctor(url, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });
  const call: Record<string, Unary> = {};
  for (const method of Object.keys(Ctor.service)) {
    const key = method.charAt(0).toLowerCase() + method.slice(1);
    call[key] = (request) =>
      new Promise((resolve, reject) => {
        const deadline = new Date(Date.now() + 120_000);
        (client as any)[method](request, { deadline }, (error: unknown, reply: Record<string, unknown>) =>
          error ? reject(fromGrpcError(error)) : resolve(reply),
        );
      });
  }
  return { call, close: () => client.close() };
}
