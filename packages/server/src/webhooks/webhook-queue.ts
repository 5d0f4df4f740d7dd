import type { WebhookEvent } from '@herald/protocol';
import type { WebhookCondition, WebhookDelivery } from './webhook-condition.js';

/** An event waiting in (or leased from) a {@link WebhookQueue}. */
export interface QueuedWebhook {
  readonly event: WebhookEvent;
  /** Delivery attempts that failed so far (0 for a new or replayed event). */
  readonly attempts: number;
  /** Why the last attempt failed. */
  readonly lastError?: string;
  /**
   * The condition it was added with (see {@link WebhookCondition}), until its first attempt is
   * recorded: {@link WebhookQueue.retry} and {@link WebhookQueue.bury} drop it (the marker was
   * claimed before that attempt), and a replayed dead letter has none.
   */
  readonly condition?: WebhookCondition;
}

/** An event that failed `maxAttempts` times: kept in the dead-letter list until replayed. */
export interface DeadWebhook {
  readonly event: WebhookEvent;
  readonly attempts: number;
  readonly lastError: string;
  /** When it was buried, ms since the Unix epoch. */
  readonly diedAt: number;
  /** Its place in the dead-letter list: increasing in burial order; the `after` of {@link WebhookQueue.dead}. */
  readonly seq: number;
}

/** How many events a {@link WebhookQueue} holds. */
export interface WebhookQueueCounts {
  /** Waiting for delivery or being delivered (leased included). */
  readonly queued: number;
  /** Leased by a node right now, when the queue knows it cheaply (memory, SQLite). */
  readonly leased?: number;
  /** In the dead-letter list. */
  readonly dead: number;
}

/**
 * The durable store of webhook events, kept in the engine (memory, SQLite, Redis). Every node of a
 * hub shares it: {@link claim} leases events atomically, so one node delivers each at a time, and an
 * expired lease (its node died mid-delivery) makes the event claimable again. Times are ms since the
 * Unix epoch, given by the caller (the nodes' clocks should agree).
 *
 * Contract (the testkit's `runWebhookQueueContract`): ids are unique; an event is due at the `due`
 * it was added with, else its `time` (new), its `time` (replayed) or the time its {@link retry} names; {@link ack}, {@link retry} and
 * {@link bury} of an id no longer queued do nothing.
 */
export interface WebhookQueue {
  /**
   * Stores events, each due at its `time` unless `deliveries` (by event id) gives it a `due` time
   * and/or a `condition`; durable once it resolves. An id already queued or dead is ignored.
   */
  add(events: readonly WebhookEvent[], deliveries?: ReadonlyMap<string, WebhookDelivery>): Promise<void>;
  /**
   * Leases up to `max` due events (due time ≤ `now`, not leased or with an expired lease) to `node`
   * until `now + leaseMs`, atomically across nodes; oldest due first (events of the same millisecond
   * in any order).
   */
  claim(node: string, max: number, leaseMs: number, now: number): Promise<QueuedWebhook[]>;
  /** Deletes delivered events. */
  ack(ids: readonly string[]): Promise<void>;
  /** Releases a leased event after a failed attempt: due again at `nextAt`, with `attempts` and `lastError` recorded. */
  retry(id: string, attempts: number, nextAt: number, lastError: string): Promise<void>;
  /** Moves an event to the dead-letter list (at `now`). */
  bury(id: string, attempts: number, lastError: string, now: number): Promise<void>;
  /** Up to `limit` dead letters in burial order, those after `seq` `after` when given. */
  dead(limit: number, after?: number): Promise<DeadWebhook[]>;
  /** Moves dead letters (those named, or all) back to the queue, attempts reset, due at their `time`; resolves with how many moved. */
  replay(ids: readonly string[] | 'all'): Promise<number>;
  counts(): Promise<WebhookQueueCounts>;
  /** Releases the queue's resources (not its events). Idempotent. */
  close(): Promise<void>;
}
