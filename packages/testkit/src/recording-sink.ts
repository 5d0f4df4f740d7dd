import { randomUUID } from 'node:crypto';
import type { WebhookEvent } from '@herald/protocol';
import type { WebhookConditionClaim, WebhookEventInput, WebhookHold, WebhookSink } from '@herald/server';
import { Collector } from './waiter.js';

/**
 * A webhook sink that keeps every event in memory, with its id and time: what a test observes the
 * hub's event sources through (the durable queue is tested on its own). `types` limits what it wants.
 * A held event (a pending leave or vacate) is recorded after its delay, and only if its condition
 * is claimed then, as the dispatcher does.
 */
export class RecordingSink implements WebhookSink {
  readonly events = new Collector<WebhookEvent>();
  /** Held events acknowledged unsent: their condition no longer stood when due. */
  cancelled = 0;
  readonly #types: ReadonlySet<WebhookEvent['type']> | undefined;
  #claim: WebhookConditionClaim | undefined;

  constructor(types?: readonly WebhookEvent['type'][]) {
    this.#types = types === undefined ? undefined : new Set(types);
  }

  wants(type: WebhookEvent['type']): boolean {
    return this.#types?.has(type) ?? true;
  }

  setConditionClaim(claim: WebhookConditionClaim): void {
    this.#claim = claim;
  }

  emit(input: WebhookEventInput, hold?: WebhookHold): Promise<void> {
    const event = { ...input, id: randomUUID(), time: input.time ?? Date.now() } as WebhookEvent;
    if (hold === undefined) {
      this.events.push(event);
      return Promise.resolve();
    }
    const timer = setTimeout(() => void this.#release(event, hold), hold.delay);
    // A held event is no reason to keep a test's process alive.
    timer.unref();
    return Promise.resolve();
  }

  async #release(event: WebhookEvent, hold: WebhookHold): Promise<void> {
    const { condition } = hold;
    const stands = condition === undefined || (this.#claim !== undefined && (await this.#claim(condition, 0).catch(() => false)));
    if (stands) this.events.push(event);
    else this.cancelled++;
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
