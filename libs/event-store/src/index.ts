export * from './event-store';
export { PostgresEventStore, withTransaction, NOTIFY_CHANNEL } from './postgres-event-store';
export { PollingSubscription } from './polling-subscription';
export { executeCommand } from './command';
