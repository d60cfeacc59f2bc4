export * from './events';
export * from './evolve';
export * from './diff';
