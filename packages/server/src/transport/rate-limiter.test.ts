import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limiter.js';

/** Takes `count` commands at the current time; returns how many were allowed and the bucket after. */
function takeMany(limiter: RateLimiter, full: number, count: number): { allowed: number; full: number } {
  let allowed = 0;
  for (let i = 0; i < count; i++) {
    const next = limiter.take(full);
    if (next === undefined) continue;
    allowed++;
    full = next;
  }
  return { allowed, full };
}

describe('RateLimiter', () => {
  it('allows a burst at once, then one command per 1/rate seconds, and refills only up to the burst', () => {
    let now = 1_000;
    const limiter = new RateLimiter(10, 3, () => now);
    let bucket = takeMany(limiter, RateLimiter.FULL, 5);
    expect(bucket.allowed).toBe(3);
    now += 99;
    bucket = takeMany(limiter, bucket.full, 1);
    expect(bucket.allowed).toBe(0);
    now += 1;
    bucket = takeMany(limiter, bucket.full, 2);
    expect(bucket.allowed).toBe(1);
    // Idle for a minute: the bucket holds the burst again, not 600 commands.
    now += 60_000;
    bucket = takeMany(limiter, bucket.full, 10);
    expect(bucket.allowed).toBe(3);
  });

  it('leaves a refused bucket as it was, and sustains exactly the rate over time', () => {
    let now = 0;
    const limiter = new RateLimiter(100, 1, () => now);
    let full = RateLimiter.FULL;
    let allowed = 0;
    // 1,000 attempts per second for 2 s: 100 per second pass, plus none saved up past the burst.
    for (let tick = 0; tick < 2_000; tick++, now++) {
      const next = limiter.take(full);
      if (next !== undefined) {
        allowed++;
        full = next;
      }
    }
    expect(allowed).toBe(200);
  });
});
