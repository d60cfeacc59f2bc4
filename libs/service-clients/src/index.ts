export * from './clients';
export { grpcClient } from './grpc-client';
export { RemoteApisModule } from './remote-apis.module';
export { runService } from './run-service';
