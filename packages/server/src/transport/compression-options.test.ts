import { describe, expect, it } from 'vitest';
import { pickCoding } from './accept-encoding.js';
import { resolveCompression } from './compression-options.js';
import { gzipSegment, GzipTally, GZIP_HEADER, storedSegment } from './sse-gzip.js';
import { gunzipSync } from 'node:zlib';

describe('resolveCompression', () => {
  it('fills in the defaults, turns everything off with false, and names a bad field', () => {
    const takeover = { contextTakeover: false, windowBits: 12, memLevel: 4 };
    expect(resolveCompression(undefined)).toEqual({ websocket: true, http: true, threshold: 256, level: 6, ...takeover });
    expect(resolveCompression(false)).toMatchObject({ websocket: false, http: false });
    expect(resolveCompression({ http: false, threshold: 0 })).toEqual({
      websocket: true,
      http: false,
      threshold: 0,
      level: 6,
      ...takeover,
    });
    expect(() => resolveCompression({ level: 0 })).toThrow(new RangeError('compression.level must be an integer from 1 to 9'));
    expect(() => resolveCompression({ threshold: 1.5 })).toThrow(RangeError);
    expect(() => resolveCompression({ websocket: 'yes' as never })).toThrow('compression.websocket must be true or false');
    expect(resolveCompression({ contextTakeover: true, windowBits: 15, memLevel: 9 })).toMatchObject({
      contextTakeover: true,
      windowBits: 15,
      memLevel: 9,
    });
    expect(() => resolveCompression({ contextTakeover: 1 as never })).toThrow('compression.contextTakeover must be true or false');
    expect(() => resolveCompression({ windowBits: 8 })).toThrow(new RangeError('compression.windowBits must be an integer from 9 to 15'));
    expect(() => resolveCompression({ memLevel: 10 })).toThrow(new RangeError('compression.memLevel must be an integer from 1 to 9'));
  });
});

describe('pickCoding', () => {
  it.each([
    [undefined, true, undefined],
    ['gzip, deflate, br, zstd', true, 'br'],
    ['gzip, deflate, br, zstd', false, 'gzip'],
    ['br;q=0.5, gzip', true, 'gzip'],
    ['gzip;q=0', true, undefined],
    ['*', true, 'br'],
    ['*;q=0, gzip', true, 'gzip'],
    ['identity', true, undefined],
    ['GZIP', false, 'gzip'],
    ['br', false, undefined],
  ])('%s (br allowed: %s) → %s', (header, preferBr, coding) => {
    expect(pickCoding(header, preferBr)).toBe(coding);
  });
});

describe('SSE gzip segments', () => {
  it('concatenate into one gzip member that inflates to the events, with a valid trailer', () => {
    const events = [
      Buffer.from('retry: 2000\n\n'),
      Buffer.from(`data: ${'{"a":1}'.repeat(100)}\n\n`),
      Buffer.alloc(70_000, 'x'),
      Buffer.alloc(0),
    ];
    const tally = new GzipTally();
    const parts: Buffer[] = [GZIP_HEADER];
    for (const event of events) {
      tally.add(event);
      parts.push(gzipSegment(event, 256, 6));
    }
    parts.push(tally.trailer());
    expect(gunzipSync(Buffer.concat(parts)).equals(Buffer.concat(events))).toBe(true);
    expect(storedSegment(Buffer.from('ab'))).toEqual(Buffer.from([0, 2, 0, 0xfd, 0xff, 0x61, 0x62]));
  });
});
