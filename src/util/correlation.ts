import { AsyncLocalStorage } from 'node:async_hooks';

const storage = new AsyncLocalStorage<string>();

/**
 * Runs `fn` with a correlation id (the platform's event id) that every log line written
 * inside it carries, across awaits: from the webhook through the job to the provider call.
 */
export function withCorrelation<T>(correlationId: string, fn: () => T): T {
  return storage.run(correlationId, fn);
}

export function currentCorrelationId(): string | undefined {
  return storage.getStore();
}
