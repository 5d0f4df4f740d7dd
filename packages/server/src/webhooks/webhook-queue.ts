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
   * recorded: {@link WebhookQueue.retry}, {@link WebhookQueue.bury} and {@link WebhookQueue.release}
   * drop it (the dispatcher claims the marker before it sends), and a replayed dead letter has none.
   */
  readonly condition?: WebhookCondition;
  /**
   * The lease token of the claim that returned it (unique per claim, the same for every event of
   * one claim): {@link WebhookQueue.ack}, {@link WebhookQueue.retry}, {@link WebhookQueue.bury} and
   * {@link WebhookQueue.release} given it take effect only while the event is still held under it.
   */
  readonly lease: string;
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
 * Unix epoch, given by the caller (a shared queue may read its own clock instead: Redis takes
 * claims' and leases' time from the Redis server).
 *
 * Contract (the testkit's `runWebhookQueueContract`): ids are unique; an event is due at the `due`
 * it was added with, else its `time` (new), its `time` (replayed) or the time its {@link retry}
 * names; {@link ack}, {@link retry} and {@link bury} of an id no longer queued do nothing, and given
 * a lease token they act only on events still held under it (fencing: a node whose lease ran out
 * and was taken over cannot undo the new holder's work); they resolve with how many events they
 * changed.
 */
export interface WebhookQueue {
  /**
   * Stores events, each due at its `time` unless `deliveries` (by event id) gives it a `due` time
   * and/or a `condition`; durable once it resolves. An id already queued or dead is ignored.
   */
  add(events: readonly WebhookEvent[], deliveries?: ReadonlyMap<string, WebhookDelivery>): Promise<void>;
  /**
   * Leases up to `max` due events (due time ≤ `now`, not leased or with an expired lease) to `node`
   * until `now + leaseMs`, atomically across nodes, under a new lease token; oldest due first
   * (events of the same millisecond in any order). With `maxBytes`, only the longest run of them
   * whose event JSON (UTF-8) adds up to at most `maxBytes` (always at least one event): what one
   * request sends.
   */
  claim(node: string, max: number, leaseMs: number, now: number, maxBytes?: number): Promise<QueuedWebhook[]>;
  /** Deletes delivered events (with `lease`: only those still held under it); resolves with how many. */
  ack(ids: readonly string[], lease?: string): Promise<number>;
  /**
   * Releases a leased event after a failed attempt: due again at `nextAt`, with `attempts` and
   * `lastError` recorded (with `lease`: only while still held under it); resolves with 1 or 0.
   */
  retry(id: string, attempts: number, nextAt: number, lastError: string, lease?: string): Promise<number>;
  /** Moves an event to the dead-letter list (at `now`; with `lease`: only while still held under it); resolves with 1 or 0. */
  bury(id: string, attempts: number, lastError: string, now: number, lease?: string): Promise<number>;
  /**
   * Gives back events held under `lease` without an attempt (attempts and error unchanged), due at
   * once in their first order (at their time); resolves with how many.
   */
  release(ids: readonly string[], lease: string): Promise<number>;
  /** Deletes the oldest dead letters past the newest `max`; resolves with how many went. */
  trimDead(max: number): Promise<number>;
  /** Deletes dead letters (those named, or all); resolves with how many went. */
  deleteDead(ids: readonly string[] | 'all'): Promise<number>;
  /** Up to `limit` dead letters in burial order, those after `seq` `after` when given. */
  dead(limit: number, after?: number): Promise<DeadWebhook[]>;
  /** Moves dead letters (those named, or all) back to the queue, attempts reset, due at their `time`; resolves with how many moved. */
  replay(ids: readonly string[] | 'all'): Promise<number>;
  counts(): Promise<WebhookQueueCounts>;
  /** Releases the queue's resources (not its events). Idempotent. */
  close(): Promise<void>;
}
