import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

describe('backoffDelay (full jitter above a floor)', () => {
  it('spans [min, min·2^(attempt+1)] capped at max', () => {
    expect(backoffDelay(0, 500, 30_000, () => 0)).toBe(500);
    expect(backoffDelay(0, 500, 30_000, () => 1)).toBe(1000);
    expect(backoffDelay(3, 500, 30_000, () => 1)).toBe(8000);
    expect(backoffDelay(10, 500, 30_000, () => 1)).toBe(30_000);
    expect(backoffDelay(10, 500, 30_000, () => 0.5)).toBe(15_250);
    expect(backoffDelay(100, 500, 30_000, () => 0.25)).toBe(7875);
  });

  it('never goes below min even when max is smaller', () => {
    expect(backoffDelay(0, 500, 100, () => 0.9)).toBe(500);
  });
});
