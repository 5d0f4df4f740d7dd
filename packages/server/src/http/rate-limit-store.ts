import type { Clock } from '../clock.js';

/** A token bucket: `perSecond` requests per second on average, up to `burst` at once. */
export interface RequestRate {
  /** Requests per second, on average (a number > 0). */
  readonly perSecond: number;
  /** Requests that may come at once, after a quiet spell (an integer ≥ 1). */
  readonly burst: number;
}

/**
 * Where the request rate buckets are kept. Each bucket is one number, the time it is full again (the
 * generic cell rate algorithm, equivalent to counting tokens), and is forgotten once full again, so
 * a store holds only the clients active within the last `burst / perSecond` seconds.
 *
 * The memory store serves one node; the Redis engine's store (`RedisRateLimitStore` in
 * `@herald/redis`) shares the buckets between every node on one Redis.
 */
export interface RateLimitStore {
  /**
   * Takes `cost` requests (an integer from 1 to `rate.burst`: a batch of messages costs one each)
   * from bucket `key`. Resolves with 0 when they may run, or with the milliseconds (> 0) until the
   * bucket has `cost` requests again: the bucket is then unchanged.
   */
  take(key: string, rate: RequestRate, cost?: number): Promise<number>;
  close?(): Promise<void>;
}

/** Buckets one {@link MemoryRateLimitStore} keeps unless told otherwise. */
export const DEFAULT_MAX_BUCKETS = 100_000;

/**
 * Milliseconds until bucket `full` (the time it is full again) has `cost` requests (1 to
 * `rate.burst`), or 0 with the bucket's new time. A `full` further ahead than a bucket can be (the wall clock went back) counts as just
 * emptied, so a clock step never refuses a client for longer than one interval.
 */
export function takeFromBucket(full: number, now: number, rate: RequestRate, cost = 1): { readonly wait: number; readonly full: number } {
  const interval = 1000 / rate.perSecond;
  const capacity = rate.burst * interval;
  const at = Math.min(Math.max(full, now), now + capacity);
  const wait = at - now - (capacity - cost * interval);
  if (wait > 0) return { wait, full: at };
  return { wait: 0, full: at + cost * interval };
}

/**
 * Request rate buckets in this process's memory: for one node, and for the per-address limits of
 * every node. At most `maxBuckets` buckets: a map in the order buckets were last used, whose oldest
 * entries are dropped once full again (two looked at per request) or, past `maxBuckets`, whatever
 * their state (their client starts again with a full bucket). Clients rotating addresses therefore
 * cost bounded memory and constant time per request.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly #buckets = new Map<string, number>();
  readonly #clock: Clock;
  readonly #maxBuckets: number;

  /** `maxBuckets`: an integer ≥ 1, else `RangeError`. @default {@link DEFAULT_MAX_BUCKETS} */
  constructor(clock: Clock, maxBuckets: number = DEFAULT_MAX_BUCKETS) {
    if (!Number.isInteger(maxBuckets) || maxBuckets < 1) throw new RangeError('maxBuckets must be an integer ≥ 1');
    this.#clock = clock;
    this.#maxBuckets = maxBuckets;
  }

  /** Buckets held now (not yet forgotten). */
  get size(): number {
    return this.#buckets.size;
  }

  /** {@link RateLimitStore.take}, at once. */
  takeNow(key: string, rate: RequestRate, cost = 1): number {
    const now = this.#clock.now();
    const buckets = this.#buckets;
    const taken = takeFromBucket(buckets.get(key) ?? 0, now, rate, cost);
    if (taken.wait > 0) return taken.wait;
    // Moved to the end: the map stays in the order of last use.
    buckets.delete(key);
    buckets.set(key, taken.full);
    this.#forget(now);
    return 0;
  }

  take(key: string, rate: RequestRate, cost = 1): Promise<number> {
    return Promise.resolve(this.takeNow(key, rate, cost));
  }

  /** Drops up to two full-again buckets from the least recently used end, and any past the cap. */
  #forget(now: number): void {
    const buckets = this.#buckets;
    let looked = 0;
    for (const [key, full] of buckets) {
      if (buckets.size > this.#maxBuckets || full <= now) buckets.delete(key);
      else break;
      if (++looked === 2 && buckets.size <= this.#maxBuckets) break;
    }
  }
}
