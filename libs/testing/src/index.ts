export * from './database';
export * from './wait';
export * from './smtp';
export * from './processes';
