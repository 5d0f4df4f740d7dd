import { randomUUID } from 'node:crypto';
import { ErrorCode, type WebhookEvent } from '@herald/protocol';
import { HeraldError } from '../errors.js';
import type { WebhookCondition, WebhookDelivery } from './webhook-condition.js';
import type { DeadWebhook, QueuedWebhook, WebhookQueue, WebhookQueueCounts } from './webhook-queue.js';

interface Entry {
  readonly event: WebhookEvent;
  /** Order of arrival: ties of `due` go oldest first. */
  readonly seq: number;
  /** Bytes of the event's JSON (UTF-8). */
  readonly bytes: number;
  due: number;
  /** The lease token of the claim holding it (kept after the lease ends, until the next claim or a release). */
  lease: string | undefined;
  attempts: number;
  lastError?: string;
  condition?: WebhookCondition | undefined;
}

/**
 * A {@link WebhookQueue} in this process's memory, for the memory engine: a restart loses every
 * event still queued and every dead letter. A claim scans the queue (O(n log n)); fine for one node.
 * Times are the caller's (one node, one clock).
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
      const bytes = Buffer.byteLength(JSON.stringify(event));
      const due = delivery?.due ?? event.time;
      this.#queued.set(event.id, { event, seq: this.#seq++, bytes, due, lease: undefined, attempts: 0, condition: delivery?.condition });
    }
    return Promise.resolve();
  }

  claim(_node: string, max: number, leaseMs: number, now: number, maxBytes = Infinity): Promise<QueuedWebhook[]> {
    if (this.#closed) return closed();
    const due = [...this.#queued.values()].filter((e) => e.due <= now).sort((a, b) => a.due - b.due || a.seq - b.seq);
    const lease = randomUUID();
    const claimed: Entry[] = [];
    let bytes = 0;
    for (const entry of due) {
      if (claimed.length >= max || (claimed.length > 0 && bytes + entry.bytes > maxBytes)) break;
      bytes += entry.bytes;
      entry.due = now + leaseMs;
      entry.lease = lease;
      claimed.push(entry);
    }
    return Promise.resolve(claimed.map(queued));
  }

  ack(ids: readonly string[], lease?: string): Promise<number> {
    if (this.#closed) return closed();
    let acked = 0;
    for (const id of ids) if (this.#held(id, lease) !== undefined && this.#queued.delete(id)) acked++;
    return Promise.resolve(acked);
  }

  retry(id: string, attempts: number, nextAt: number, lastError: string, lease?: string): Promise<number> {
    if (this.#closed) return closed();
    const entry = this.#held(id, lease);
    if (entry === undefined) return Promise.resolve(0);
    Object.assign(entry, { due: nextAt, lease: undefined, attempts, lastError, condition: undefined });
    return Promise.resolve(1);
  }

  bury(id: string, attempts: number, lastError: string, now: number, lease?: string): Promise<number> {
    if (this.#closed) return closed();
    const entry = this.#held(id, lease);
    if (entry === undefined) return Promise.resolve(0);
    this.#queued.delete(id);
    this.#dead.set(id, { event: entry.event, attempts, lastError, diedAt: now, seq: ++this.#deadSeq });
    return Promise.resolve(1);
  }

  release(ids: readonly string[], lease: string): Promise<number> {
    if (this.#closed) return closed();
    let released = 0;
    for (const id of ids) {
      const entry = this.#held(id, lease);
      if (entry === undefined) continue;
      entry.due = entry.event.time;
      entry.lease = undefined;
      // Released after its condition was claimed (the dispatcher claims before sending): it stands.
      entry.condition = undefined;
      released++;
    }
    return Promise.resolve(released);
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
      const bytes = Buffer.byteLength(JSON.stringify(letter.event));
      this.#queued.set(id, { event: letter.event, seq: this.#seq++, bytes, due: letter.event.time, lease: undefined, attempts: 0 });
      replayed++;
    }
    return Promise.resolve(replayed);
  }

  trimDead(max: number): Promise<number> {
    if (this.#closed) return closed();
    let trimmed = 0;
    // A Map iterates in insertion order: burial order, oldest first.
    for (const id of this.#dead.keys()) {
      if (this.#dead.size <= max) break;
      this.#dead.delete(id);
      trimmed++;
    }
    return Promise.resolve(trimmed);
  }

  deleteDead(ids: readonly string[] | 'all'): Promise<number> {
    if (this.#closed) return closed();
    if (ids === 'all') {
      const deleted = this.#dead.size;
      this.#dead.clear();
      return Promise.resolve(deleted);
    }
    let deleted = 0;
    for (const id of ids) if (this.#dead.delete(id)) deleted++;
    return Promise.resolve(deleted);
  }

  counts(now: number = Date.now()): Promise<WebhookQueueCounts> {
    if (this.#closed) return closed();
    let leased = 0;
    for (const entry of this.#queued.values()) if (entry.lease !== undefined && entry.due > now) leased++;
    return Promise.resolve({ queued: this.#queued.size, leased, dead: this.#dead.size });
  }

  /** Later calls reject (`unavailable`); the events are gone with the object. */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  /** The queued entry of `id` if it is held under `lease` (any entry when `lease` is undefined). */
  #held(id: string, lease: string | undefined): Entry | undefined {
    const entry = this.#queued.get(id);
    return entry !== undefined && (lease === undefined || entry.lease === lease) ? entry : undefined;
  }
}

function queued(entry: Entry): QueuedWebhook {
  const { event, attempts, lastError, condition } = entry;
  return {
    event,
    attempts,
    lease: entry.lease!,
    ...(lastError !== undefined && { lastError }),
    ...(condition !== undefined && { condition }),
  };
}

function closed(): Promise<never> {
  return Promise.reject(new HeraldError(ErrorCode.Unavailable, 'the webhook queue is closed'));
}
