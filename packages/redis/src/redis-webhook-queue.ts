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
import { connect, disconnect, replyWithin, type RedisClient } from './connection.js';
import { Keys } from './keys.js';
import { WEBHOOK_ACK, WEBHOOK_ADD, WEBHOOK_BURY, WEBHOOK_CLAIM, WEBHOOK_DEAD, WEBHOOK_REPLAY, WEBHOOK_RETRY } from './webhook-scripts.js';

/** Options of {@link RedisWebhookQueue.connect}. */
export interface RedisWebhookQueueOptions {
  readonly url: string;
  /** @default "herald:" */
  readonly prefix?: string;
  readonly commandTimeout?: number;
  readonly connectTimeout?: number;
  readonly logger?: Logger;
}

/** Events stored per script call (bounds one script's run time). */
const ADD_CHUNK = 500;
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
 * Redis restart keeps. The nodes' clocks should agree (due times are theirs).
 */
export class RedisWebhookQueue implements WebhookQueue {
  readonly #client: RedisClient;
  readonly #keys: string[];
  readonly #names: Keys['webhooks'];

  private constructor(client: RedisClient, prefix: string) {
    this.#client = client;
    this.#names = new Keys(prefix).webhooks;
    const { due, events, state, dead, deadInfo, deadSeq } = this.#names;
    this.#keys = [due, events, state, dead, deadInfo, deadSeq];
  }

  static async connect(options: RedisWebhookQueueOptions): Promise<RedisWebhookQueue> {
    const client = await connect({ ...options, logger: options.logger ?? silentLogger }, 'webhooks');
    return new RedisWebhookQueue(client, options.prefix ?? 'herald:');
  }

  async add(events: readonly WebhookEvent[], deliveries?: ReadonlyMap<string, WebhookDelivery>): Promise<void> {
    for (let i = 0; i < events.length; i += ADD_CHUNK) {
      const args = events.slice(i, i + ADD_CHUNK).flatMap((e) => {
        const delivery = deliveries?.get(e.id);
        // The condition lives in the event's state: the first recorded attempt (retry, bury) replaces it.
        const state = delivery?.condition === undefined ? '' : JSON.stringify({ attempts: 0, condition: delivery.condition });
        return [e.id, String(delivery?.due ?? e.time), JSON.stringify(e), state];
      });
      await WEBHOOK_ADD.run(this.#client, this.#keys, args);
    }
  }

  async claim(_node: string, max: number, leaseMs: number, now: number): Promise<QueuedWebhook[]> {
    const rows = (await WEBHOOK_CLAIM.run(this.#client, this.#keys, [String(now), String(max), String(now + leaseMs)])) as string[];
    const claimed: QueuedWebhook[] = [];
    for (let i = 0; i + 2 < rows.length; i += 3) {
      const event = JSON.parse(rows[i + 1]!) as WebhookEvent;
      const state = rows[i + 2] === '' ? undefined : (JSON.parse(rows[i + 2]!) as State);
      const condition = state?.condition;
      claimed.push({
        event,
        attempts: state?.attempts ?? 0,
        ...(state?.lastError !== undefined && { lastError: state.lastError }),
        ...(isWebhookCondition(condition) && { condition }),
      });
    }
    return claimed;
  }

  async ack(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await WEBHOOK_ACK.run(this.#client, this.#keys, ids);
  }

  async retry(id: string, attempts: number, nextAt: number, lastError: string): Promise<void> {
    await WEBHOOK_RETRY.run(this.#client, this.#keys, [id, String(nextAt), JSON.stringify({ attempts, lastError })]);
  }

  async bury(id: string, attempts: number, lastError: string, now: number): Promise<void> {
    await WEBHOOK_BURY.run(this.#client, this.#keys, [id, JSON.stringify({ attempts, lastError, diedAt: now })]);
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
        moved += Number(await WEBHOOK_REPLAY.run(this.#client, this.#keys, ids.slice(i, i + REPLAY_CHUNK)));
      return moved;
    }
    // Those dead when the call began (a letter buried meanwhile may or may not be moved).
    const total = await replyWithin(this.#client, this.#client.zCard(this.#names.dead));
    let moved = 0;
    for (let round = 0; round <= total / REPLAY_CHUNK; round++) {
      const chunk = await replyWithin(this.#client, this.#client.zRange(this.#names.dead, 0, REPLAY_CHUNK - 1));
      if (chunk.length === 0) break;
      moved += Number(await WEBHOOK_REPLAY.run(this.#client, this.#keys, chunk));
    }
    return moved;
  }

  async counts(): Promise<WebhookQueueCounts> {
    const [queued, dead] = await Promise.all([
      replyWithin(this.#client, this.#client.zCard(this.#names.due)),
      replyWithin(this.#client, this.#client.zCard(this.#names.dead)),
    ]);
    return { queued, dead };
  }

  async close(): Promise<void> {
    await disconnect(this.#client);
  }
}
