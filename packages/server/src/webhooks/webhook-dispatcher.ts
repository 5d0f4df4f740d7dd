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
 * What happened to webhook events, for metrics: `dropped` ones were refused (queue full, not
 * stored, or emitted after the dispatcher closed); `cancelled` ones were acknowledged unsent, their
 * condition no longer standing (a pending leave or vacate whose user or channel came back).
 */
export type WebhookOutcome = 'queued' | 'delivered' | 'retried' | 'dead' | 'replayed' | 'dropped' | 'cancelled';

/** Told of webhook events and requests (metrics). Must be cheap and must not throw. */
export interface WebhookObserver {
  counted(outcome: WebhookOutcome, events: number): void;
  /** One request to the app ended (`ok`: answered 2xx) after `seconds`. */
  requested(seconds: number, ok: boolean): void;
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
}

/** Events an {@link WebhookDispatcher.emit} may have waiting to be stored; past it new ones are dropped. */
export const MAX_BUFFERED_WEBHOOKS = 10_000;

/** How often (ms) the dispatcher refreshes the queue's depth for its `maxQueued` bound. */
const DEPTH_REFRESH = 1000;

/** Largest part of an app's error answer kept as `lastError`. */
const MAX_ERROR_TEXT = 200;

interface Waiting {
  readonly events: WebhookEvent[];
  /** The due times and conditions of the events that have them, by id. */
  readonly deliveries: Map<string, WebhookDelivery>;
  readonly done: (() => void)[];
}

/**
 * Turns emitted events into deliveries: {@link emit} names each event (a random UUID, the time)
 * and stores it in the engine's {@link WebhookQueue} (events of one tick in one write); workers
 * (`concurrency` per node) claim due events in batches, POST them signed to the app as
 * `{"events": […]}`, acknowledge them on a 2xx answer and otherwise retry them with exponential
 * backoff and full jitter until `maxAttempts`, then move them to the dead-letter list. Every node
 * of a hub runs one; leases make each event go out from one node at a time (at least once).
 */
export class WebhookDispatcher implements WebhookSink {
  readonly #options: ResolvedWebhooks;
  readonly #queue: WebhookQueue;
  readonly #node: string;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #observer: WebhookObserver | undefined;
  readonly #random: () => number;
  #buffer: Waiting | undefined;
  #buffered = 0;
  readonly #adding = new Set<Promise<void>>();
  #depth = 0;
  #depthAt = -Infinity;
  #refreshing: Promise<void> | undefined;
  #workers: Promise<void>[] = [];
  readonly #sleepers = new Set<() => void>();
  readonly #abort = new AbortController();
  #closed = false;
  #closing: Promise<void> | undefined;
  #conditionClaim: WebhookConditionClaim | undefined;

  constructor(options: ResolvedWebhooks, parts: WebhookDispatcherParts) {
    this.#options = options;
    this.#queue = parts.queue;
    this.#node = parts.node;
    this.#clock = parts.clock;
    this.#logger = parts.logger;
    this.#observer = parts.observer;
    this.#random = parts.random ?? Math.random;
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
    if (this.#buffered >= MAX_BUFFERED_WEBHOOKS || this.#full()) {
      this.#observer?.counted('dropped', 1);
      this.#logger.warn({ type: input.type, buffered: this.#buffered, depth: this.#depth }, 'webhook event dropped: the queue is full');
      return Promise.resolve();
    }
    const event = { ...input, id: randomUUID(), time: input.time ?? this.#clock.now() } as WebhookEvent;
    this.#buffered++;
    this.#depth++;
    let buffer = this.#buffer;
    if (buffer === undefined) {
      buffer = this.#buffer = { events: [], deliveries: new Map(), done: [] };
      // Every event of this tick goes to the engine in one write.
      setImmediate(() => this.#flush(buffer!));
    }
    buffer.events.push(event);
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
   * Stops: events emitted before are stored, requests in flight are aborted and their events
   * released (due at once, for another node or the next start). Does not close the queue.
   */
  close(): Promise<void> {
    return (this.#closing ??= (async () => {
      this.#closed = true;
      const buffer = this.#buffer;
      if (buffer !== undefined) this.#flush(buffer);
      await Promise.all([...this.#adding]);
      this.#abort.abort(new Error('the hub is closing'));
      this.#wake();
      await Promise.all(this.#workers);
    })());
  }

  /** Whether the queue is at `maxQueued` (by the last count, plus what this node added since). */
  #full(): boolean {
    const now = this.#clock.now();
    if (now - this.#depthAt >= DEPTH_REFRESH && this.#refreshing === undefined) {
      this.#depthAt = now;
      this.#refreshing = this.#queue
        .counts()
        .then(
          (counts) => {
            this.#depth = counts.queued + counts.dead + this.#buffered;
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
    const { events, deliveries, done } = buffer;
    const adding = this.#queue.add(events, deliveries.size === 0 ? undefined : deliveries).then(
      () => {
        this.#observer?.counted('queued', events.length);
        this.#wake();
      },
      (error: unknown) => {
        this.#observer?.counted('dropped', events.length);
        this.#logger.error({ err: error, events: events.length }, 'webhook events could not be stored');
      },
    );
    const tracked = adding.finally(() => {
      this.#buffered -= events.length;
      this.#adding.delete(tracked);
      for (const resolve of done) resolve();
    });
    this.#adding.add(tracked);
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
    const { batchSize, lease, pollInterval } = this.#options;
    while (!this.#closed) {
      let batch: QueuedWebhook[];
      try {
        batch = await this.#queue.claim(this.#node, batchSize, lease, this.#clock.now());
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
      for (const part of this.#split(batch)) {
        try {
          await this.#deliver(part);
        } catch (error) {
          // The queue failed to record the outcome: the lease runs out and the events go again.
          this.#logger.warn({ err: error }, 'webhook outcome not recorded; the events will be sent again');
        }
      }
    }
  }

  /**
   * The claimed events that may go out: each one's condition (a pending leave's or vacate's marker)
   * is claimed first, before any part of the batch is sent (so every event released or retried
   * later was claimed); an event whose marker is gone is acknowledged unsent (`cancelled`). A
   * marker that cannot be checked now leaves its event leased: it is claimed again after the lease.
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
        await this.#queue.ack(cancelled);
        this.#observer?.counted('cancelled', cancelled.length);
      } catch (error) {
        // Claimed again after the lease: their markers are gone, so they are cancelled then.
        this.#logger.warn({ err: error }, 'cancelled webhook events not acknowledged');
      }
    }
    return standing;
  }

  /** The batch in runs of at most `maxBatchBytes` of event JSON (an event larger than that alone). */
  #split(batch: QueuedWebhook[]): { items: QueuedWebhook[]; json: string[] }[] {
    const parts: { items: QueuedWebhook[]; json: string[] }[] = [];
    let current: { items: QueuedWebhook[]; json: string[] } = { items: [], json: [] };
    let bytes = 0;
    for (const item of batch) {
      const json = JSON.stringify(item.event);
      const size = Buffer.byteLength(json);
      if (current.items.length > 0 && bytes + size > this.#options.maxBatchBytes) {
        parts.push(current);
        current = { items: [], json: [] };
        bytes = 0;
      }
      current.items.push(item);
      current.json.push(json);
      bytes += size;
    }
    parts.push(current);
    return parts;
  }

  async #deliver({ items, json }: { items: QueuedWebhook[]; json: string[] }): Promise<void> {
    if (this.#closed) return this.#release(items);
    const error = await this.#post(`{"events":[${json.join(',')}]}`);
    if (error === undefined) {
      await this.#queue.ack(items.map((i) => i.event.id));
      this.#observer?.counted('delivered', items.length);
      return;
    }
    if (this.#closed && this.#abort.signal.aborted) return this.#release(items);
    const { maxAttempts, retryBase, retryMax } = this.#options;
    const now = this.#clock.now();
    let dead = 0;
    for (const item of items) {
      const attempts = item.attempts + 1;
      if (attempts >= maxAttempts) {
        await this.#queue.bury(item.event.id, attempts, error, now);
        dead++;
      } else {
        await this.#queue.retry(item.event.id, attempts, now + webhookRetryDelay(attempts, retryBase, retryMax, this.#random), error);
      }
    }
    if (dead > 0) {
      this.#observer?.counted('dead', dead);
      this.#logger.warn({ events: dead, error }, 'webhook events moved to the dead-letter list');
    }
    if (items.length > dead) this.#observer?.counted('retried', items.length - dead);
  }

  /** Puts leased events back, due at once in their first order (at their time), their attempts unchanged (closing). */
  async #release(items: QueuedWebhook[]): Promise<void> {
    for (const item of items)
      await this.#queue.retry(item.event.id, item.attempts, item.event.time, item.lastError ?? 'not sent: the hub closed');
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
          ...signatureHeaders(secrets, body, this.#clock.now()),
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
