import { randomUUID } from 'node:crypto';
import type { WebhookEvent } from '@herald/protocol';
import {
  isWebhookCondition,
  silentLogger,
  type WebhookDelivery,
  type DeadWebhook,
  type Logger,
  type QueuedWebhook,
  type WebhookQueue,
  type WebhookQueueCounts,
} from '@herald/server';
import { RedisLink } from './redis-link.js';
import { Keys } from './keys.js';
import {
  WEBHOOK_ACK,
  WEBHOOK_ADD,
  WEBHOOK_BURY,
  WEBHOOK_CLAIM,
  WEBHOOK_DEAD,
  WEBHOOK_DELETE_DEAD,
  WEBHOOK_RELEASE,
  WEBHOOK_REPLAY,
  WEBHOOK_RETRY,
  WEBHOOK_TRIM_DEAD,
} from './webhook-scripts.js';

/** Options of {@link RedisWebhookQueue.connect}. */
export interface RedisWebhookQueueOptions {
  readonly url: string;
  /** @default "herald:" */
  readonly prefix?: string;
  readonly commandTimeout?: number;
  readonly connectTimeout?: number;
  readonly logger?: Logger;
  /**
   * Whose clock leases and due times follow: `'redis'` (the Redis server's `TIME`, so nodes whose
   * clocks disagree still agree on leases; the times this node gives are moved by the offset between
   * its clock and Redis', measured at connect and at every claim) or `'caller'` (the `now` each
   * call gives, as the other queues; for tests). @default 'redis'
   */
  readonly leaseClock?: 'redis' | 'caller';
}

/** Events stored per script call (bounds one script's run time)... */
const ADD_CHUNK = 500;
/** ...and bytes of event JSON per script call (one larger event goes alone). */
const ADD_CHUNK_BYTES = 8 * 1024 * 1024;
/** Dead letters deleted per script call by `trimDead` and `deleteDead('all')`. */
const DELETE_CHUNK = 1000;
/** Dead letters moved per script call by `replay('all')`. */
const REPLAY_CHUNK = 1000;

interface State {
  readonly attempts: number;
  readonly lastError?: string;
  readonly condition?: unknown;
}

/**
 * The webhook queue shared by every node on one Redis (keys under `<prefix>{webhooks}:`, see
 * {@link Keys.webhooks}). A sorted set holds each queued id by its due time; a claim is one script
 * that takes the due ids and moves their score to the lease's end, so exactly one node holds each
 * event, and a node that dies mid-delivery leaves events whose lease simply runs out: the next
 * claim after that, on any node, takes them over. Redis' persistence (AOF or RDB) decides what a
 * Redis restart keeps. Claims and leases use the Redis server's clock (see
 * {@link RedisWebhookQueueOptions.leaseClock}), so a node whose clock runs ahead does not take over
 * leases others still hold; a lease token per claim (hash `lease`) fences late outcomes.
 */
export class RedisWebhookQueue implements WebhookQueue {
  readonly #client: RedisLink;
  readonly #keys: string[];
  readonly #names: Keys['webhooks'];
  readonly #serverClock: boolean;
  /** ms to add to this node's times to get Redis' (0 with the caller's clock). */
  #offset = 0;

  private constructor(client: RedisLink, prefix: string, serverClock: boolean) {
    this.#client = client;
    this.#names = new Keys(prefix).webhooks;
    this.#serverClock = serverClock;
    const { due, events, state, dead, deadInfo, deadSeq, lease } = this.#names;
    this.#keys = [due, events, state, dead, deadInfo, deadSeq, lease];
  }

  static async connect(options: RedisWebhookQueueOptions): Promise<RedisWebhookQueue> {
    const clock = options.leaseClock ?? 'redis';
    if (clock !== 'redis' && clock !== 'caller') throw new RangeError('leaseClock must be "redis" or "caller"');
    const client = await RedisLink.open({ ...options, logger: options.logger ?? silentLogger }, 'webhooks');
    const queue = new RedisWebhookQueue(client, options.prefix ?? 'herald:', clock === 'redis');
    if (clock === 'redis') {
      try {
        const before = Date.now();
        // On a cluster: the clock of the primary whose slot holds the queue (where its scripts run).
        const [seconds, micros] = await client.command<string[]>(queue.#names.due, ['TIME']);
        queue.#offset = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - before;
      } catch (error) {
        await client.close();
        throw error;
      }
    }
    return queue;
  }

  /** A time of this node's clock on Redis' (see {@link RedisWebhookQueueOptions.leaseClock}). */
  #score(time: number): string {
    return String(time + this.#offset);
  }

  async add(events: readonly WebhookEvent[], deliveries?: ReadonlyMap<string, WebhookDelivery>): Promise<void> {
    let args: string[] = [];
    let count = 0;
    let bytes = 0;
    for (const event of events) {
      const json = JSON.stringify(event);
      const size = Buffer.byteLength(json);
      if (count > 0 && (count >= ADD_CHUNK || bytes + size > ADD_CHUNK_BYTES)) {
        await WEBHOOK_ADD.run(this.#client, this.#keys, args);
        [args, count, bytes] = [[], 0, 0];
      }
      const delivery = deliveries?.get(event.id);
      // The condition lives in the event's state: the first recorded outcome (retry, bury, release) replaces it.
      const state = delivery?.condition === undefined ? '' : JSON.stringify({ attempts: 0, condition: delivery.condition });
      args.push(event.id, this.#score(delivery?.due ?? event.time), json, state);
      count++;
      bytes += size;
    }
    if (count > 0) await WEBHOOK_ADD.run(this.#client, this.#keys, args);
  }

  async claim(node: string, max: number, leaseMs: number, now: number, maxBytes?: number): Promise<QueuedWebhook[]> {
    const lease = `${node}/${randomUUID()}`;
    const args = [
      this.#serverClock ? '' : String(now),
      String(max),
      String(leaseMs),
      lease,
      maxBytes === undefined ? '' : String(maxBytes),
    ];
    const rows = (await WEBHOOK_CLAIM.run(this.#client, this.#keys, args)) as string[];
    if (this.#serverClock) this.#offset = Number(rows[0]) - now;
    const claimed: QueuedWebhook[] = [];
    for (let i = 1; i + 2 < rows.length; i += 3) {
      const event = JSON.parse(rows[i + 1]!) as WebhookEvent;
      const state = rows[i + 2] === '' ? undefined : (JSON.parse(rows[i + 2]!) as State);
      const condition = state?.condition;
      claimed.push({
        event,
        attempts: state?.attempts ?? 0,
        lease,
        ...(state?.lastError !== undefined && { lastError: state.lastError }),
        ...(isWebhookCondition(condition) && { condition }),
      });
    }
    return claimed;
  }

  async ack(ids: readonly string[], lease?: string): Promise<number> {
    if (ids.length === 0) return 0;
    return Number(await WEBHOOK_ACK.run(this.#client, this.#keys, [lease ?? '', ...ids]));
  }

  async retry(id: string, attempts: number, nextAt: number, lastError: string, lease?: string): Promise<number> {
    const state = JSON.stringify({ attempts, lastError });
    return Number(await WEBHOOK_RETRY.run(this.#client, this.#keys, [id, this.#score(nextAt), state, lease ?? '']));
  }

  async bury(id: string, attempts: number, lastError: string, now: number, lease?: string): Promise<number> {
    const info = JSON.stringify({ attempts, lastError, diedAt: now });
    return Number(await WEBHOOK_BURY.run(this.#client, this.#keys, [id, info, lease ?? '']));
  }

  async release(ids: readonly string[], lease: string): Promise<number> {
    if (ids.length === 0) return 0;
    return Number(await WEBHOOK_RELEASE.run(this.#client, this.#keys, [lease, String(this.#offset), ...ids]));
  }

  async trimDead(max: number): Promise<number> {
    let trimmed = 0;
    for (;;) {
      const n = Number(await WEBHOOK_TRIM_DEAD.run(this.#client, this.#keys, [String(max), String(DELETE_CHUNK)]));
      trimmed += n;
      if (n < DELETE_CHUNK) return trimmed;
    }
  }

  async deleteDead(ids: readonly string[] | 'all'): Promise<number> {
    if (ids === 'all') return this.trimDead(0);
    let deleted = 0;
    for (let i = 0; i < ids.length; i += DELETE_CHUNK)
      deleted += Number(await WEBHOOK_DELETE_DEAD.run(this.#client, this.#keys, ids.slice(i, i + DELETE_CHUNK)));
    return deleted;
  }

  async dead(limit: number, after = 0): Promise<DeadWebhook[]> {
    const rows = (await WEBHOOK_DEAD.run(this.#client, this.#keys, [String(after), String(limit)])) as string[];
    const letters: DeadWebhook[] = [];
    for (let i = 0; i + 3 < rows.length; i += 4) {
      if (rows[i + 2] === '') continue;
      const info = (rows[i + 3] === '' ? {} : JSON.parse(rows[i + 3]!)) as Partial<Omit<DeadWebhook, 'event' | 'seq'>>;
      letters.push({
        event: JSON.parse(rows[i + 2]!) as WebhookEvent,
        attempts: info.attempts ?? 0,
        lastError: info.lastError ?? '',
        diedAt: info.diedAt ?? 0,
        seq: Number(rows[i + 1]),
      });
    }
    return letters;
  }

  async replay(ids: readonly string[] | 'all'): Promise<number> {
    if (ids !== 'all') {
      let moved = 0;
      for (let i = 0; i < ids.length; i += REPLAY_CHUNK)
        moved += Number(await WEBHOOK_REPLAY.run(this.#client, this.#keys, [String(this.#offset), ...ids.slice(i, i + REPLAY_CHUNK)]));
      return moved;
    }
    // Those dead when the call began (a letter buried meanwhile may or may not be moved).
    const total = Number(await this.#client.command(this.#names.dead, ['ZCARD', this.#names.dead]));
    let moved = 0;
    for (let round = 0; round <= total / REPLAY_CHUNK; round++) {
      const chunk = await this.#client.command<string[]>(this.#names.dead, ['ZRANGE', this.#names.dead, '0', String(REPLAY_CHUNK - 1)]);
      if (chunk.length === 0) break;
      moved += Number(await WEBHOOK_REPLAY.run(this.#client, this.#keys, [String(this.#offset), ...chunk]));
    }
    return moved;
  }

  async counts(): Promise<WebhookQueueCounts> {
    const [queued, dead] = await Promise.all([
      this.#client.command(this.#names.due, ['ZCARD', this.#names.due]),
      this.#client.command(this.#names.dead, ['ZCARD', this.#names.dead]),
    ]);
    return { queued: Number(queued), dead: Number(dead) };
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}
