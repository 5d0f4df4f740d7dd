import { randomUUID } from 'node:crypto';
import type { WebhookEvent } from '@herald/protocol';
import type { WebhookEventInput, WebhookSink } from '@herald/server';
import { Collector } from './waiter.js';

/**
 * A webhook sink that keeps every event in memory, with its id and time: what a test observes the
 * hub's event sources through (the durable queue is tested on its own). `types` limits what it wants.
 */
export class RecordingSink implements WebhookSink {
  readonly events = new Collector<WebhookEvent>();
  readonly #types: ReadonlySet<WebhookEvent['type']> | undefined;

  constructor(types?: readonly WebhookEvent['type'][]) {
    this.#types = types === undefined ? undefined : new Set(types);
  }

  wants(type: WebhookEvent['type']): boolean {
    return this.#types?.has(type) ?? true;
  }

  emit(event: WebhookEventInput): Promise<void> {
    this.events.push({ ...event, id: randomUUID(), time: event.time ?? Date.now() });
    return Promise.resolve();
  }

  /** The events of these types so far, without `id` and `time`, in emission order. */
  of(...types: WebhookEvent['type'][]): Record<string, unknown>[] {
    return this.events.items
      .filter((event) => types.length === 0 || types.includes(event.type))
      .map((event) => {
        const rest: Record<string, unknown> = { ...event };
        delete rest['id'];
        delete rest['time'];
        return rest;
      });
  }
}
