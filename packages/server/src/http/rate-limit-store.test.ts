import { describe, expect, it } from 'vitest';
import { MemoryRateLimitStore, takeFromBucket } from './rate-limit-store.js';

const clockAt = (start: number): { now: () => number; time: number } => {
  const clock = { time: start, now: () => clock.time };
  return clock;
};

describe('takeFromBucket (one bucket: rate and burst)', () => {
  it('lets `burst` requests through at once, then one per interval, and says how long to wait', () => {
    const rate = { perSecond: 4, burst: 3 };
    let full = 0;
    const now = 10_000;
    for (let i = 0; i < 3; i++) {
      const taken = takeFromBucket(full, now, rate);
      expect(taken.wait).toBe(0);
      full = taken.full;
    }
    expect(takeFromBucket(full, now, rate)).toEqual({ wait: 250, full });
    expect(takeFromBucket(full, now + 249, rate).wait).toBe(1);
    expect(takeFromBucket(full, now + 250, rate).wait).toBe(0);
  });

  it('takes `cost` requests at once, or none, and says how long until there are that many', () => {
    const rate = { perSecond: 4, burst: 5 };
    const now = 10_000;
    const first = takeFromBucket(0, now, rate, 3);
    expect(first).toEqual({ wait: 0, full: now + 750 });
    // Two left: three more are refused, the bucket unchanged, until one more came back (250 ms).
    expect(takeFromBucket(first.full, now, rate, 3)).toEqual({ wait: 250, full: first.full });
    expect(takeFromBucket(first.full, now, rate, 2)).toEqual({ wait: 0, full: now + 1250 });
    expect(takeFromBucket(first.full, now + 250, rate, 3).wait).toBe(0);
    // The whole burst at once from a full bucket, never more.
    expect(takeFromBucket(0, now, rate, 5).wait).toBe(0);
    expect(takeFromBucket(0, now, rate, 6).wait).toBeGreaterThan(0);
  });

  it('a bucket whose time is further ahead than it can be (the clock went back) waits one interval at most', () => {
    const rate = { perSecond: 2, burst: 10 };
    expect(takeFromBucket(1_000_000, 0, rate).wait).toBe(500);
  });
});

describe('MemoryRateLimitStore', () => {
  it('keeps buckets apart by key', () => {
    const clock = clockAt(0);
    const store = new MemoryRateLimitStore(clock);
    const rate = { perSecond: 1, burst: 1 };
    expect(store.takeNow('a', rate)).toBe(0);
    expect(store.takeNow('a', rate)).toBe(1000);
    expect(store.takeNow('b', rate)).toBe(0);
  });

  it('forgets buckets once full again, so addresses seen once do not stay', () => {
    const clock = clockAt(0);
    const store = new MemoryRateLimitStore(clock);
    const rate = { perSecond: 10, burst: 5 };
    for (let i = 0; i < 1000; i++) store.takeNow(`ip:${i}`, rate);
    expect(store.size).toBe(1000);
    // Every bucket is full again 100 ms later; each request drops up to two of the old ones.
    clock.time = 1000;
    for (let i = 0; i < 500; i++) store.takeNow(`other:${i}`, rate);
    expect(store.size).toBe(500);
  });

  it('never holds more than maxBuckets: the least recently used bucket goes first', () => {
    const clock = clockAt(0);
    const store = new MemoryRateLimitStore(clock, 100);
    // One request per 1000 s: nothing is full again during the test.
    const slow = { perSecond: 0.001, burst: 2 };
    for (let i = 0; i < 10_000; i++) store.takeNow(`rotating:${i}`, slow);
    expect(store.size).toBe(100);
    // The newest bucket is kept (one request left), the oldest forgotten (full again: two).
    expect([store.takeNow('rotating:9999', slow), store.takeNow('rotating:9999', slow)]).toEqual([0, 1_000_000]);
    expect([store.takeNow('rotating:0', slow), store.takeNow('rotating:0', slow)]).toEqual([0, 0]);
    expect(store.size).toBe(100);
  });

  it('refuses a maxBuckets that is not an integer ≥ 1', () => {
    expect(() => new MemoryRateLimitStore(clockAt(0), 0)).toThrow(new RangeError('maxBuckets must be an integer ≥ 1'));
  });
});
