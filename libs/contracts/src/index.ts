export * from './envelope';
export * from './metadata';
export * from './contact';
export * from './topics';
export * from './errors';
export * from './apis';
export * from './audit';
export * from './json-depth';
