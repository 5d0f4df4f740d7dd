import { silentLogger, systemClock, type Clock, type Logger, type RateLimitStore, type RequestRate } from '@herald/server';
import { RedisLink } from './redis-link.js';
import { Keys } from './keys.js';
import { RATE_TAKE } from './scripts.js';

/** Options of {@link RedisRateLimitStore.connect}. */
export interface RedisRateLimitOptions {
  readonly url: string;
  /** @default "herald:" */
  readonly prefix?: string;
  readonly commandTimeout?: number;
  readonly connectTimeout?: number;
  /** The time a request is counted at; nodes sharing a Redis should have synchronised clocks. @default the system clock */
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/**
 * Request rate buckets shared by every node on one Redis (`HeraldOptions.rateLimitStore`): a
 * user's requests count against one bucket whichever node they reach. One script per request
 * checks and counts it; each bucket is one key that expires once the bucket is full again.
 */
export class RedisRateLimitStore implements RateLimitStore {
  readonly #client: RedisLink;
  readonly #keys: Keys;
  readonly #clock: Clock;

  private constructor(client: RedisLink, options: RedisRateLimitOptions) {
    this.#client = client;
    this.#keys = new Keys(options.prefix ?? 'herald:');
    this.#clock = options.clock ?? systemClock;
  }

  static async connect(options: RedisRateLimitOptions): Promise<RedisRateLimitStore> {
    const client = await RedisLink.open({ ...options, logger: options.logger ?? silentLogger }, 'rate-limits');
    return new RedisRateLimitStore(client, options);
  }

  async take(key: string, rate: RequestRate, cost = 1): Promise<number> {
    const wait = await RATE_TAKE.run(
      this.#client,
      [this.#keys.requestRate(key)],
      [String(this.#clock.now()), String(1000 / rate.perSecond), String(rate.burst), String(cost)],
    );
    return Number(wait);
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}
