import { describe, expect, it } from 'vitest';
import { EXCLUSION_TTL, ExcludedSockets, MAX_EXCLUSIONS } from './excluded-socket.js';

describe('ExcludedSockets', () => {
  it('skips the matching message once, for that socket only', () => {
    const table = new ExcludedSockets(() => 0);
    table.add('1.1', 'app1:c', 'ev', '{"a":1}');
    expect(table.skips('1.2', 'app1:c', 'ev', '{"a":1}')).toBe(false);
    expect(table.skips('1.1', 'app1:d', 'ev', '{"a":1}')).toBe(false);
    expect(table.skips('1.1', 'app1:c', 'other', '{"a":1}')).toBe(false);
    expect(table.skips('1.1', 'app1:c', 'ev', '{"a":2}')).toBe(false);
    expect(table.skips('1.1', 'app1:c', 'ev', '{"a":1}')).toBe(true);
    expect(table.skips('1.1', 'app1:c', 'ev', '{"a":1}')).toBe(false);
    expect(table.size).toBe(0);
  });

  it('forgets an exclusion after EXCLUSION_TTL, and keeps at most MAX_EXCLUSIONS', () => {
    let now = 0;
    const table = new ExcludedSockets(() => now);
    table.add('1.1', 'c', 'e', 'x');
    now = EXCLUSION_TTL;
    expect(table.skips('1.1', 'c', 'e', 'x')).toBe(false);
    for (let i = 0; i < MAX_EXCLUSIONS + 10; i++) table.add(`2.${i}`, 'c', 'e', 'x');
    expect(table.size).toBeLessThanOrEqual(MAX_EXCLUSIONS);
    // The newest stay.
    expect(table.skips(`2.${MAX_EXCLUSIONS + 9}`, 'c', 'e', 'x')).toBe(true);
  });
});
