import { describe, expect, it } from 'vitest';
import { parseRetryAfter, retryDelay } from './backoff.js';

describe('retryDelay', () => {
  it('is uniform in [0, min(max, base·2^attempt)]', () => {
    expect([0, 1, 2, 3].map((attempt) => retryDelay(attempt, 100, 10_000, () => 1))).toEqual([100, 200, 400, 800]);
    expect(retryDelay(10, 100, 10_000, () => 1)).toBe(10_000);
    expect(retryDelay(3, 100, 10_000, () => 0.5)).toBe(400);
    expect(retryDelay(3, 100, 10_000, () => 0)).toBe(0);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-12-05T12:00:00Z');
  it.each([
    [null, undefined],
    ['1', 1],
    [' 30 ', 30],
    ['soon', undefined],
    ['-1', undefined],
    ['Sat, 05 Dec 2026 12:00:10 GMT', 10],
    ['Sat, 05 Dec 2026 11:00:00 GMT', 0],
  ])('%j → %j', (header, seconds) => {
    expect(parseRetryAfter(header, now)).toBe(seconds);
  });
});
