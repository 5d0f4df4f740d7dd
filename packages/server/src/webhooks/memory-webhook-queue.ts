import { ErrorCode, type WebhookEvent } from '@herald/protocol';
import { HeraldError } from '../errors.js';
import type { WebhookCondition, WebhookDelivery } from './webhook-condition.js';
import type { DeadWebhook, QueuedWebhook, WebhookQueue, WebhookQueueCounts } from './webhook-queue.js';

interface Entry {
  readonly event: WebhookEvent;
  /** Order of arrival: ties of `due` go oldest first. */
  readonly seq: number;
  due: number;
  leased: boolean;
  attempts: number;
  lastError?: string;
  condition?: WebhookCondition | undefined;
}

/**
 * A {@link WebhookQueue} in this process's memory, for the memory engine: a restart loses every
 * event still queued and every dead letter. A claim scans the queue (O(n log n)); fine for one node.
 */
export class MemoryWebhookQueue implements WebhookQueue {
  readonly #queued = new Map<string, Entry>();
  readonly #dead = new Map<string, DeadWebhook>();
  #seq = 0;
  #deadSeq = 0;
  #closed = false;

  add(events: readonly WebhookEvent[], deliveries?: ReadonlyMap<string, WebhookDelivery>): Promise<void> {
    if (this.#closed) return closed();
    for (const event of events) {
      if (this.#queued.has(event.id) || this.#dead.has(event.id)) continue;
      const delivery = deliveries?.get(event.id);
      const due = delivery?.due ?? event.time;
      this.#queued.set(event.id, { event, seq: this.#seq++, due, leased: false, attempts: 0, condition: delivery?.condition });
    }
    return Promise.resolve();
  }

  claim(_node: string, max: number, leaseMs: number, now: number): Promise<QueuedWebhook[]> {
    if (this.#closed) return closed();
    const due = [...this.#queued.values()].filter((e) => e.due <= now).sort((a, b) => a.due - b.due || a.seq - b.seq);
    const claimed = due.slice(0, max);
    for (const entry of claimed) {
      entry.due = now + leaseMs;
      entry.leased = true;
    }
    return Promise.resolve(claimed.map(queued));
  }

  ack(ids: readonly string[]): Promise<void> {
    if (this.#closed) return closed();
    for (const id of ids) this.#queued.delete(id);
    return Promise.resolve();
  }

  retry(id: string, attempts: number, nextAt: number, lastError: string): Promise<void> {
    if (this.#closed) return closed();
    const entry = this.#queued.get(id);
    if (entry !== undefined) Object.assign(entry, { due: nextAt, leased: false, attempts, lastError, condition: undefined });
    return Promise.resolve();
  }

  bury(id: string, attempts: number, lastError: string, now: number): Promise<void> {
    if (this.#closed) return closed();
    const entry = this.#queued.get(id);
    if (entry !== undefined) {
      this.#queued.delete(id);
      this.#dead.set(id, { event: entry.event, attempts, lastError, diedAt: now, seq: ++this.#deadSeq });
    }
    return Promise.resolve();
  }

  dead(limit: number, after = 0): Promise<DeadWebhook[]> {
    if (this.#closed) return closed();
    const page: DeadWebhook[] = [];
    for (const letter of this.#dead.values()) {
      if (page.length >= limit) break;
      if (letter.seq > after) page.push(letter);
    }
    return Promise.resolve(page);
  }

  replay(ids: readonly string[] | 'all'): Promise<number> {
    if (this.#closed) return closed();
    const chosen = ids === 'all' ? [...this.#dead.keys()] : ids;
    let replayed = 0;
    for (const id of chosen) {
      const letter = this.#dead.get(id);
      if (letter === undefined) continue;
      this.#dead.delete(id);
      this.#queued.set(id, { event: letter.event, seq: this.#seq++, due: letter.event.time, leased: false, attempts: 0 });
      replayed++;
    }
    return Promise.resolve(replayed);
  }

  counts(): Promise<WebhookQueueCounts> {
    if (this.#closed) return closed();
    let leased = 0;
    for (const entry of this.#queued.values()) if (entry.leased) leased++;
    return Promise.resolve({ queued: this.#queued.size, leased, dead: this.#dead.size });
  }

  /** Later calls reject (`unavailable`); the events are gone with the object. */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}

function queued(entry: Entry): QueuedWebhook {
  const { event, attempts, lastError, condition } = entry;
  return { event, attempts, ...(lastError !== undefined && { lastError }), ...(condition !== undefined && { condition }) };
}

function closed(): Promise<never> {
  return Promise.reject(new HeraldError(ErrorCode.Unavailable, 'the webhook queue is closed'));
}
