import { randomUUID } from 'node:crypto';
import type { WebhookEvent, WebhookEventType } from '@herald/protocol';
import type { Clock } from '../clock.js';
import { signatureHeaders } from '../hooks/hook-signature.js';
import type { Logger } from '../logger.js';
import { webhookRetryDelay } from './webhook-backoff.js';
import type { WebhookConditionClaim, WebhookDelivery, WebhookHold } from './webhook-condition.js';
import type { DeadWebhook, QueuedWebhook, WebhookQueue, WebhookQueueCounts } from './webhook-queue.js';
import type { WebhookEventInput, WebhookSink } from './webhook-sink.js';
import type { ResolvedWebhooks } from './webhooks-options.js';

/**
 * What happened to webhook events, for metrics: `dropped` ones were refused (queue or buffer full,
 * not stored by the time the dispatcher closed, or emitted after it closed); `stale` outcomes
 * (delivered, retried, dead) came after the event's lease was taken over and were ignored;
 * `dead_dropped` dead letters were deleted, the oldest past `maxDead`; `cancelled` ones were
 * acknowledged unsent, their condition no longer standing (a pending leave or vacate whose user or
 * channel came back); `late` ones were not stored within {@link STORE_WAIT} of their emit, which
 * resolved then (they stay buffered and are retried: counted `queued` or `dropped` later too).
 */
export type WebhookOutcome =
  'queued' | 'delivered' | 'retried' | 'dead' | 'replayed' | 'dropped' | 'stale' | 'dead_dropped' | 'cancelled' | 'late';

/** Told of webhook events and requests (metrics). Must be cheap and must not throw. */
export interface WebhookObserver {
  counted(outcome: WebhookOutcome, events: number): void;
  /** One request to the app ended (`ok`: answered 2xx) after `seconds`. */
  requested(seconds: number, ok: boolean): void;
}

/**
 * How a dispatcher writes one request (a front door's webhooks, such as Pusher's, in their own
 * format). The `content-type` (`application/json`) and `user-agent` headers are the dispatcher's.
 */
export interface WebhookRequest {
  /** The body of the request carrying `events` (oldest first, at least one), at `now` (ms). */
  body(events: readonly WebhookEvent[], now: number): string;
  /** The request's signature headers for `body` at `now` (ms). */
  headers(body: string, now: number): Record<string, string>;
}

/** What {@link WebhookDispatcher} needs besides its options. */
export interface WebhookDispatcherParts {
  readonly queue: WebhookQueue;
  /** This node's id: the holder of its leases. */
  readonly node: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly observer?: WebhookObserver | undefined;
  /** Draws in [0, 1) for the retry jitter. @default Math.random */
  readonly random?: (() => number) | undefined;
  /**
   * The requests' body and signature. @default Herald's: `{"events": […]}` signed with the
   * options' `secrets` (`Herald-Signature`, see `docs/hooks.md`)
   */
  readonly request?: WebhookRequest | undefined;
}

/** Events an {@link WebhookDispatcher.emit} may have waiting to be stored; past it new ones are dropped. */
export const MAX_BUFFERED_WEBHOOKS = 10_000;

/** Bytes of event JSON a node may have waiting to be stored; past it new events are dropped. */
export const MAX_BUFFERED_WEBHOOK_BYTES = 64 * 1024 * 1024;

/**
 * ms an {@link WebhookDispatcher.emit} waits for its event's store at most: past it the emit
 * resolves (a client publish is acknowledged) while the event stays buffered and retried.
 */
export const STORE_WAIT = 2000;

/** ms before the first retry of a failed store; doubles per failure up to {@link STORE_RETRY_MAX}. */
const STORE_RETRY_BASE = 100;
const STORE_RETRY_MAX = 5000;

/** The request body's bytes besides the events' JSON: `{"events":[` and `]}`. */
const BODY_WRAPPER_BYTES = 13;

/** How often (ms) the dispatcher refreshes the queue's depth for its `maxQueued` bound. */
const DEPTH_REFRESH = 1000;

/** Largest part of an app's error answer kept as `lastError`. */
const MAX_ERROR_TEXT = 200;

interface Waiting {
  readonly events: WebhookEvent[];
  /** Bytes of each event's JSON. */
  readonly sizes: number[];
  /** The due times and conditions of the events that have them, by id. */
  readonly deliveries: Map<string, WebhookDelivery>;
  readonly done: (() => void)[];
  /** Resolves the emits after {@link STORE_WAIT} when the events are not stored by then. */
  late?: NodeJS.Timeout | undefined;
}

/**
 * Turns emitted events into deliveries: {@link emit} names each event (a random UUID, the time)
 * and stores it in the engine's {@link WebhookQueue} (events of one tick in one write; a failed
 * write is retried with backoff while the events wait in a bounded buffer); workers (`concurrency`
 * per node) each claim what one request sends (`batchSize` events, `maxBatchBytes` of body), POST
 * it signed to the app as `{"events": […]}`, acknowledge it on a 2xx answer and otherwise retry
 * the events with exponential backoff and full jitter until `maxAttempts`, then move them to the
 * dead-letter list (at most `maxDead`, the oldest dropped). Every node of a hub runs one; leases
 * (longer than one request) make each event go out from one node at a time (at least once), and
 * each outcome is fenced by its claim's lease token.
 */
export class WebhookDispatcher implements WebhookSink {
  readonly #options: ResolvedWebhooks;
  readonly #queue: WebhookQueue;
  readonly #node: string;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #observer: WebhookObserver | undefined;
  readonly #random: () => number;
  readonly #request: WebhookRequest | undefined;
  #buffer: Waiting | undefined;
  /** Events emitted and not yet stored (or dropped), and their bytes. */
  #buffered = 0;
  #bufferedBytes = 0;
  readonly #adding = new Set<Promise<void>>();
  /** Writes that failed, waiting for the next try ({@link #storeTimer}). */
  #unstored: Waiting[] = [];
  #storeTimer: NodeJS.Timeout | undefined;
  #storeDelay = STORE_RETRY_BASE;
  #depth = 0;
  #depthAt = -Infinity;
  #refreshing: Promise<void> | undefined;
  #workers: Promise<void>[] = [];
  readonly #sleepers = new Set<() => void>();
  readonly #abort = new AbortController();
  #closed = false;
  #closing: Promise<void> | undefined;
  #conditionClaim: WebhookConditionClaim | undefined;
  /** Whether a late store was logged since the last successful one (logged once per outage). */
  #lateLogged = false;

  constructor(options: ResolvedWebhooks, parts: WebhookDispatcherParts) {
    this.#options = options;
    this.#queue = parts.queue;
    this.#node = parts.node;
    this.#clock = parts.clock;
    this.#logger = parts.logger;
    this.#observer = parts.observer;
    this.#random = parts.random ?? Math.random;
    this.#request = parts.request;
  }

  /** ms a presence leave waits for the client to come back (carried for the presence event source). */
  get presenceDebounce(): number {
    return this.#options.presenceDebounce;
  }

  wants(type: WebhookEventType): boolean {
    return this.#options.events.has(type);
  }

  setConditionClaim(claim: WebhookConditionClaim): void {
    this.#conditionClaim = claim;
  }

  emit(input: WebhookEventInput, hold?: WebhookHold): Promise<void> {
    if (!this.wants(input.type)) return Promise.resolve();
    if (this.#closed) {
      this.#observer?.counted('dropped', 1);
      this.#logger.warn({ type: input.type }, 'webhook event dropped: emitted after the dispatcher closed');
      return Promise.resolve();
    }
    const event = { ...input, id: randomUUID(), time: input.time ?? this.#clock.now() } as WebhookEvent;
    const size = Buffer.byteLength(JSON.stringify(event));
    if (this.#buffered >= MAX_BUFFERED_WEBHOOKS || this.#bufferedBytes + size > MAX_BUFFERED_WEBHOOK_BYTES || this.#full()) {
      this.#observer?.counted('dropped', 1);
      this.#logger.warn(
        { type: input.type, buffered: this.#buffered, bufferedBytes: this.#bufferedBytes, depth: this.#depth },
        'webhook event dropped: the queue is full',
      );
      return Promise.resolve();
    }
    this.#buffered++;
    this.#bufferedBytes += size;
    this.#depth++;
    let buffer = this.#buffer;
    if (buffer === undefined) {
      const created: Waiting = (buffer = this.#buffer = { events: [], sizes: [], deliveries: new Map(), done: [] });
      // Every event of this tick goes to the engine in one write.
      setImmediate(() => this.#flush(created));
      created.late = setTimeout(() => this.#late(created), STORE_WAIT);
      created.late.unref();
    }
    buffer.events.push(event);
    buffer.sizes.push(size);
    if (hold !== undefined) {
      const delivery = { due: event.time + hold.delay, ...(hold.condition !== undefined && { condition: hold.condition }) };
      buffer.deliveries.set(event.id, delivery);
    }
    return new Promise((resolve) => buffer.done.push(resolve));
  }

  /** Starts the workers (once). */
  start(): void {
    if (this.#workers.length > 0 || this.#closed) return;
    for (let i = 0; i < this.#options.concurrency; i++) this.#workers.push(this.#work());
  }

  /** The queue's counts. */
  counts(): Promise<WebhookQueueCounts> {
    return this.#queue.counts();
  }

  /** Up to `limit` dead letters after `after` (see {@link WebhookQueue.dead}). */
  dead(limit: number, after?: number): Promise<DeadWebhook[]> {
    return this.#queue.dead(limit, after);
  }

  /** Deletes dead letters (those named, or all); resolves with how many went. */
  deleteDead(ids: readonly string[] | 'all'): Promise<number> {
    return this.#queue.deleteDead(ids);
  }

  /** Moves dead letters back to the queue; wakes this node's workers. */
  async replay(ids: readonly string[] | 'all'): Promise<number> {
    const replayed = await this.#queue.replay(ids);
    if (replayed > 0) {
      this.#observer?.counted('replayed', replayed);
      this.#wake();
    }
    return replayed;
  }

  /**
   * Stops: events emitted before are stored (those whose write keeps failing get one last try,
   * then count as dropped), requests in flight are aborted and their events released (due at
   * once, for another node or the next start). Does not close the queue.
   */
  close(): Promise<void> {
    return (this.#closing ??= (async () => {
      this.#closed = true;
      clearTimeout(this.#storeTimer);
      this.#storeTimer = undefined;
      const buffer = this.#buffer;
      if (buffer !== undefined) this.#flush(buffer);
      await Promise.all([...this.#adding]);
      await this.#storeAgain();
      this.#abort.abort(new Error('the hub is closing'));
      this.#wake();
      await Promise.all(this.#workers);
    })());
  }

  /** Whether the queue is at `maxQueued` (by the last count of queued events, dead letters apart, plus what this node added since). */
  #full(): boolean {
    const now = this.#clock.now();
    if (now - this.#depthAt >= DEPTH_REFRESH && this.#refreshing === undefined) {
      this.#depthAt = now;
      this.#refreshing = this.#queue
        .counts()
        .then(
          (counts) => {
            this.#depth = counts.queued + this.#buffered;
          },
          () => undefined,
        )
        .finally(() => (this.#refreshing = undefined));
    }
    return this.#depth >= this.#options.maxQueued;
  }

  #flush(buffer: Waiting): void {
    if (this.#buffer !== buffer) return;
    this.#buffer = undefined;
    const tracked = this.#store([buffer]).finally(() => this.#adding.delete(tracked));
    this.#adding.add(tracked);
  }

  /**
   * Writes `waiting` to the queue in one add. Stored: counted `queued`, their emits resolved.
   * Failed: kept (in the buffer's bounds) for another try after a backoff; once closed, for
   * {@link close}'s last try.
   */
  async #store(waiting: Waiting[]): Promise<void> {
    try {
      await this.#queue.add(
        waiting.flatMap((w) => w.events),
        deliveriesOf(waiting),
      );
    } catch (error) {
      this.#unstored.push(...waiting);
      if (this.#closed) return;
      const delay = this.#storeDelay * (0.5 + this.#random() / 2);
      this.#storeDelay = Math.min(this.#storeDelay * 2, STORE_RETRY_MAX);
      this.#logger.warn(
        { err: error, events: this.#unstored.reduce((n, w) => n + w.events.length, 0), retryInMs: Math.round(delay) },
        'webhook events could not be stored; retrying',
      );
      this.#storeTimer ??= setTimeout(() => {
        this.#storeTimer = undefined;
        const tracked = this.#storeAgain().finally(() => this.#adding.delete(tracked));
        this.#adding.add(tracked);
      }, delay);
      return;
    }
    this.#storeDelay = STORE_RETRY_BASE;
    this.#lateLogged = false;
    this.#settle(waiting, 'queued');
    this.#wake();
  }

  /** Tries the failed writes again, in one add; once closed, a failure drops them (counted and logged). */
  async #storeAgain(): Promise<void> {
    const waiting = this.#unstored;
    this.#unstored = [];
    if (waiting.length === 0) return;
    if (!this.#closed) return this.#store(waiting);
    try {
      await this.#queue.add(
        waiting.flatMap((w) => w.events),
        deliveriesOf(waiting),
      );
      this.#settle(waiting, 'queued');
    } catch (error) {
      const events = this.#settle(waiting, 'dropped');
      this.#logger.error({ err: error, events }, 'webhook events dropped: they could not be stored before the dispatcher closed');
    }
  }

  /** The events of `waiting` are not stored after {@link STORE_WAIT}: their emits resolve now (counted `late`, logged once per outage); the store goes on. */
  #late(waiting: Waiting): void {
    waiting.late = undefined;
    if (waiting.done.length === 0) return;
    for (const resolve of waiting.done.splice(0)) resolve();
    this.#observer?.counted('late', waiting.events.length);
    if (this.#lateLogged) return;
    this.#lateLogged = true;
    this.#logger.warn(
      { events: waiting.events.length, waitMs: STORE_WAIT },
      'webhook events not stored in time: their publishes were acknowledged and the events are still retried',
    );
  }

  /** Takes stored (or dropped) events out of the buffer's bounds, counts them and resolves their emits; returns how many. */
  #settle(waiting: Waiting[], outcome: 'queued' | 'dropped'): number {
    let events = 0;
    for (const w of waiting) {
      const { sizes, done } = w;
      clearTimeout(w.late);
      w.late = undefined;
      events += sizes.length;
      for (const size of sizes) this.#bufferedBytes -= size;
      for (const resolve of done) resolve();
    }
    this.#buffered -= events;
    this.#observer?.counted(outcome, events);
    return events;
  }

  #wake(): void {
    for (const wake of [...this.#sleepers]) wake();
  }

  /** Waits `ms`, or less when woken (an event stored here, a replay, close). */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      // An idle look at the queue is no reason to keep the process alive.
      timer.unref();
      this.#sleepers.add(wake);
    });
  }

  async #work(): Promise<void> {
    const { batchSize, lease, pollInterval, maxBatchBytes } = this.#options;
    // What one request carries: the body (wrapper and commas included) stays within maxBatchBytes,
    // unless one event alone is larger (it goes alone).
    const maxBytes = Math.max(0, maxBatchBytes - BODY_WRAPPER_BYTES - (batchSize - 1));
    while (!this.#closed) {
      let batch: QueuedWebhook[];
      try {
        // Claimed right before the one request that sends it: the lease (longer than `timeout`) outlasts the request.
        batch = await this.#queue.claim(this.#node, batchSize, lease, this.#clock.now(), maxBytes);
      } catch (error) {
        this.#logger.warn({ err: error }, 'webhook queue unavailable; retrying');
        await this.#sleep(pollInterval * 5);
        continue;
      }
      if (batch.length === 0) {
        await this.#sleep(pollInterval);
        continue;
      }
      batch = await this.#standing(batch);
      if (batch.length === 0) continue;
      try {
        await this.#deliver(batch);
      } catch (error) {
        // The queue failed to record the outcome: the lease runs out and the events go again.
        this.#logger.warn({ err: error }, 'webhook outcome not recorded; the events will be sent again');
      }
    }
  }

  /**
   * The claimed events that may go out: each one's condition (a pending leave's or vacate's marker)
   * is claimed first, before the batch is sent (so every event released or retried later was
   * claimed); an event whose marker is gone is acknowledged unsent (`cancelled`). A marker that
   * cannot be checked now leaves its event leased: it is claimed again after the lease.
   */
  async #standing(batch: QueuedWebhook[]): Promise<QueuedWebhook[]> {
    if (batch.every((item) => item.condition === undefined)) return batch;
    const claim = this.#conditionClaim;
    const standing: QueuedWebhook[] = [];
    const cancelled: string[] = [];
    for (const item of batch) {
      if (item.condition === undefined) {
        standing.push(item);
        continue;
      }
      try {
        // No claim (no presence store set one): the event cannot be decided, so it is not sent.
        if (claim !== undefined && (await claim(item.condition, this.#options.lease * 2))) standing.push(item);
        else cancelled.push(item.event.id);
      } catch (error) {
        this.#logger.warn({ err: error, type: item.event.type }, 'webhook condition not checked; the event waits for its lease to run out');
      }
    }
    if (cancelled.length > 0) {
      try {
        const acked = await this.#queue.ack(cancelled, batch[0]!.lease);
        this.#depth = Math.max(0, this.#depth - acked);
        this.#observer?.counted('cancelled', acked);
      } catch (error) {
        // Claimed again after the lease: their markers are gone, so they are cancelled then.
        this.#logger.warn({ err: error }, 'cancelled webhook events not acknowledged');
      }
    }
    return standing;
  }

  /** Sends one claimed batch and records the outcome under its lease token (outcomes of a lease taken over are ignored, counted `stale`). */
  async #deliver(items: QueuedWebhook[]): Promise<void> {
    if (this.#closed) return this.#release(items);
    const lease = items[0]!.lease;
    const request = this.#request;
    const error = await this.#post(
      request === undefined
        ? `{"events":[${items.map((i) => JSON.stringify(i.event)).join(',')}]}`
        : request.body(
            items.map((i) => i.event),
            this.#clock.now(),
          ),
    );
    if (error === undefined) {
      const acked = await this.#queue.ack(
        items.map((i) => i.event.id),
        lease,
      );
      this.#depth = Math.max(0, this.#depth - acked);
      this.#observer?.counted('delivered', acked);
      this.#stale(items.length - acked, 'delivered');
      return;
    }
    if (this.#closed && this.#abort.signal.aborted) return this.#release(items);
    const { maxAttempts, retryBase, retryMax, maxDead } = this.#options;
    const now = this.#clock.now();
    let [dead, retried] = [0, 0];
    for (const item of items) {
      const attempts = item.attempts + 1;
      if (attempts >= maxAttempts) dead += await this.#queue.bury(item.event.id, attempts, error, now, lease);
      else
        retried += await this.#queue.retry(
          item.event.id,
          attempts,
          now + webhookRetryDelay(attempts, retryBase, retryMax, this.#random),
          error,
          lease,
        );
    }
    this.#stale(items.length - dead - retried, 'failed');
    if (retried > 0) this.#observer?.counted('retried', retried);
    if (dead === 0) return;
    // Dead letters are not queued events: they leave maxQueued's count at once.
    this.#depth = Math.max(0, this.#depth - dead);
    this.#observer?.counted('dead', dead);
    this.#logger.warn({ events: dead, error }, 'webhook events moved to the dead-letter list');
    const trimmed = await this.#queue.trimDead(maxDead);
    if (trimmed > 0) {
      this.#observer?.counted('dead_dropped', trimmed);
      this.#logger.warn({ events: trimmed, maxDead }, 'oldest dead letters deleted: the dead-letter list is full (webhooks.maxDead)');
    }
  }

  /** Counts (and logs) outcomes ignored because another claim took the events over. */
  #stale(events: number, attempt: 'delivered' | 'failed'): void {
    if (events <= 0) return;
    this.#observer?.counted('stale', events);
    this.#logger.warn(
      { events, attempt },
      'webhook outcome ignored: the lease ran out and another claim holds the events (they are sent again)',
    );
  }

  /** Gives leased events back, due at once in their first order, their attempts unchanged (closing). */
  async #release(items: QueuedWebhook[]): Promise<void> {
    await this.#queue.release(
      items.map((i) => i.event.id),
      items[0]!.lease,
    );
  }

  /** POSTs one batch; resolves with undefined on a 2xx answer, else with why it failed. */
  async #post(body: string): Promise<string | undefined> {
    const { url, secrets, timeout } = this.#options;
    const started = performance.now();
    const signal = AbortSignal.any([AbortSignal.timeout(timeout), this.#abort.signal]);
    let failure: string | undefined;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'herald-webhooks',
          ...(this.#request?.headers(body, this.#clock.now()) ?? signatureHeaders(secrets, body, this.#clock.now())),
        },
        body,
        signal,
        redirect: 'error',
      });
      if (response.status >= 200 && response.status <= 299) await response.body?.cancel().catch(() => undefined);
      else {
        const text = await errorText(response);
        failure = `HTTP ${response.status}${text === '' ? '' : `: ${text}`}`;
      }
    } catch (error) {
      failure = signal.aborted && !this.#abort.signal.aborted ? `no answer within ${timeout} ms` : `unreachable: ${describe(error)}`;
    }
    this.#observer?.requested((performance.now() - started) / 1000, failure === undefined);
    return failure;
  }
}

/** The start of an error answer's body (never more than a few KiB read), on one line. */
async function errorText(response: Response): Promise<string> {
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      chunks.push(chunk);
      size += chunk.byteLength;
      if (size >= MAX_ERROR_TEXT * 4) break;
    }
  } catch {
    // What arrived is enough.
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').trim().slice(0, MAX_ERROR_TEXT);
}

function describe(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  return (cause instanceof Error ? cause.message : String(cause)).slice(0, MAX_ERROR_TEXT);
}

/** The due times and conditions of the events of `waiting`, by id; undefined when none has any. */
function deliveriesOf(waiting: readonly Waiting[]): Map<string, WebhookDelivery> | undefined {
  const withDelivery = waiting.filter((w) => w.deliveries.size > 0);
  if (withDelivery.length === 0) return undefined;
  if (withDelivery.length === 1) return withDelivery[0]!.deliveries;
  return new Map(withDelivery.flatMap((w) => [...w.deliveries]));
}
