export * from './config';
export * from './database';
export * from './tokens';
export * from './campaign-log';
export { HeraldCoreModule } from './core.module';
export * from './grpc';
export * from './projection-worker';
export * from './tenancy';
