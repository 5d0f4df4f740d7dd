import { describe, expect, it } from 'vitest';
import { webhookRetryDelay } from './webhook-backoff.js';

describe('webhookRetryDelay', () => {
  it('doubles its ceiling per attempt from base, up to max', () => {
    const top = (attempts: number): number => webhookRetryDelay(attempts, 1000, 300_000, () => 1);
    expect([1, 2, 3, 4, 5, 9, 10, 60].map(top)).toEqual([1000, 2000, 4000, 8000, 16_000, 256_000, 300_000, 300_000]);
  });

  it('draws uniformly below the ceiling (full jitter)', () => {
    expect(webhookRetryDelay(3, 1000, 300_000, () => 0)).toBe(0);
    expect(webhookRetryDelay(3, 1000, 300_000, () => 0.5)).toBe(2000);
    for (let i = 0; i < 1000; i++) {
      const delay = webhookRetryDelay(4, 100, 300_000);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(800);
    }
  });
});
