import { AsyncLocalStorage } from 'node:async_hooks';

/** Which consumer delivery the current work belongs to: lets appends made by a handler be attributed (e.g. sends per channel). */
export interface Delivery {
  readonly group: string;
  readonly topic: string;
}

const storage = new AsyncLocalStorage<Delivery>();

export function runInDelivery<T>(delivery: Delivery, fn: () => Promise<T>): Promise<T> {
  return storage.run(delivery, fn);
}

export function currentDelivery(): Delivery | undefined {
  return storage.getStore();
}

/** The channel of a dispatch command topic ('dispatch.requests.email_notification' → 'email_notification'). */
export function dispatchChannel(topic: string | undefined): string | null {
  return topic?.startsWith('dispatch.requests.') ? topic.slice('dispatch.requests.'.length) : null;
}
