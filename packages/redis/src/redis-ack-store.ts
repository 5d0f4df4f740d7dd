import type { Position } from '@herald/protocol';
import {
  resolveAckLimits,
  silentLogger,
  type AckedPosition,
  type AckListOptions,
  type AckOutcome,
  type AckStore,
  type AckStoreLimits,
  type Logger,
} from '@herald/server';
import { Keys } from './keys.js';
import { RedisLink } from './redis-link.js';
import { ACK, ACK_LIST } from './scripts.js';

/** Options of {@link RedisAckStore.connect}. */
export interface RedisAckOptions extends AckStoreLimits {
  readonly url: string;
  /** @default "herald:" */
  readonly prefix?: string;
  readonly commandTimeout?: number;
  readonly connectTimeout?: number;
  readonly logger?: Logger;
}

/**
 * Acknowledged positions shared by every node on one Redis: per channel a hash user → position and
 * a sorted set user → time (`<prefix>{<channel>}:acks`, `:acktimes`, one hash slot). Each ack is
 * one script (expire, compare, store, bound), so concurrent acks of one user keep the highest; both
 * keys expire `ttl` after the channel's last ack. An ack of another epoch than the stored one
 * replaces it only when it names it (`replacing`), in the same script. Times are the hub's clock
 * (given by the caller).
 */
export class RedisAckStore implements AckStore {
  readonly #client: RedisLink;
  readonly #keys: Keys;
  readonly #ttl: number;
  readonly #max: number;

  private constructor(client: RedisLink, prefix: string, ttl: number, max: number) {
    this.#client = client;
    this.#keys = new Keys(prefix, client.mode === 'cluster');
    this.#ttl = ttl;
    this.#max = max;
  }

  /** Connects; `RangeError` for limits out of range. */
  static async connect(options: RedisAckOptions): Promise<RedisAckStore> {
    const limits = resolveAckLimits(options);
    const client = await RedisLink.open({ ...options, logger: options.logger ?? silentLogger }, 'acks');
    return new RedisAckStore(client, options.prefix ?? 'herald:', limits.ttl * 1000, limits.maxPerChannel);
  }

  async ack(user: string, channel: string, position: Position, now: number, replacing?: string): Promise<AckOutcome> {
    const [epoch, offset, moved, otherEpoch] = (await ACK.run(
      this.#client,
      [this.#keys.acks(channel), this.#keys.ackTimes(channel)],
      [user, position.epoch, String(position.offset), String(now), String(this.#ttl), String(this.#max), replacing ?? ''],
    )) as [string, string, number, number];
    const outcome = { position: { epoch, offset: Number(offset) }, moved: moved === 1 };
    return otherEpoch === 1 ? { ...outcome, otherEpoch: true } : outcome;
  }

  async list(channel: string, options: AckListOptions, now: number): Promise<AckedPosition[]> {
    const args = [String(now - this.#ttl), String(options.limit), ...(options.user === undefined ? [] : [options.user])];
    const flat = (await ACK_LIST.run(this.#client, [this.#keys.acks(channel), this.#keys.ackTimes(channel)], args)) as string[];
    const rows: AckedPosition[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const [epoch = '', offset = '0', time = '0'] = flat[i + 1]!.split(' ');
      rows.push({ user: flat[i]!, channel, epoch, offset: Number(offset), time: Number(time) });
    }
    return rows;
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}
