export * from './bus';
export * from './kafka-codec';
export * from './kafka-bus';
export * from './store-bus';
export * from './relay';
export * from './leader-lock';
export * from './idempotent-consumer';
