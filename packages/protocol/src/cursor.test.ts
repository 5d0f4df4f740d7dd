import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCursor, encodePosition, MAX_CURSOR_CHANNELS, MAX_CURSOR_LENGTH, parseCursor, parseSince } from './cursor.js';
import { ErrorCode } from './error-codes.js';
import type { Position } from './position.js';
import type { Result } from './result.js';

const CHANNEL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-:.@/=+,!~$'.split('');
const EPOCH_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'.split('');
const ERROR_CODES = new Set<number>(Object.values(ErrorCode));

/** Valid channel names, short ones and ones up to the 255-character limit. */
const channelArb = fc
  .oneof(
    fc.string({ unit: fc.constantFrom(...CHANNEL_ALPHABET), minLength: 1, maxLength: 255 }),
    fc.string({ unit: fc.constantFrom(...CHANNEL_ALPHABET), minLength: 1, maxLength: 255, size: 'max' }),
  )
  .filter((name) => !name.includes('..'));
const epochArb = fc.string({ unit: fc.constantFrom(...EPOCH_ALPHABET), minLength: 1, maxLength: 64 });
const positionArb: fc.Arbitrary<Position> = fc.record({ epoch: epochArb, offset: fc.oneof(fc.nat(1000), fc.maxSafeNat()) });
/** Entries of distinct channels; 20 channels of at most 255 characters stay well under MAX_CURSOR_LENGTH. */
const entriesArb = fc.uniqueArray(fc.tuple(channelArb, positionArb), { selector: ([channel]) => channel, minLength: 1, maxLength: 20 });

/** A `c1.` cursor holding `text` as is, to build malformed cursors. */
const rawCursor = (text: string): string => `c1.${btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`;

function expectTypedError(result: Result<unknown>, code: number): void {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.error.code).toBe(code);
  expect(typeof result.error.message).toBe('string');
  expect(result.error.message.length).toBeGreaterThan(0);
}

/** Any outcome of a parser that never throws: a value, or an error whose code is one of ErrorCode. */
function expectWellFormed(result: Result<unknown>): void {
  expect(typeof result.ok).toBe('boolean');
  if (result.ok) return;
  expect(ERROR_CODES.has(result.error.code)).toBe(true);
  expect(typeof result.error.message).toBe('string');
}

describe('encodeCursor / parseCursor round-trip', () => {
  it('parses back exactly the positions it encoded, for any map of valid channels', () => {
    fc.assert(
      fc.property(entriesArb, (entries) => {
        const positions = new Map(entries);
        const parsed = parseCursor(encodeCursor(positions));
        expect(parsed).toEqual({ ok: true, value: positions });
      }),
    );
  });

  it('gives the same string whatever the insertion order', () => {
    fc.assert(
      fc.property(
        entriesArb.chain((entries) =>
          fc.tuple(fc.constant(entries), fc.shuffledSubarray(entries, { minLength: entries.length, maxLength: entries.length })),
        ),
        ([entries, shuffled]) => {
          expect(encodeCursor(new Map(shuffled))).toBe(encodeCursor(new Map(entries)));
          expect(encodeCursor(new Map([...entries].reverse()))).toBe(encodeCursor(new Map(entries)));
        },
      ),
    );
  });

  it('is URL-, header- and SSE-id-safe', () => {
    fc.assert(
      fc.property(entriesArb, (entries) => {
        const cursor = encodeCursor(new Map(entries));
        expect(cursor).toMatch(/^c1\.[A-Za-z0-9_-]+$/);
        expect(encodeURIComponent(cursor)).toBe(cursor);
      }),
    );
  });

  it('encodePosition equals encodeCursor of a one-entry map', () => {
    fc.assert(
      fc.property(channelArb, positionArb, (channel, position) => {
        const cursor = encodePosition(channel, position);
        expect(cursor).toBe(encodeCursor(new Map([[channel, position]])));
        expect(parseCursor(cursor)).toEqual({ ok: true, value: new Map([[channel, position]]) });
      }),
    );
  });

  it('round-trips MAX_CURSOR_CHANNELS channels, and refuses one more', () => {
    const positions = new Map<string, Position>();
    for (let i = 0; i < MAX_CURSOR_CHANNELS; i++) positions.set(`ch-${i}`, { epoch: 'e1', offset: i });
    expect(parseCursor(encodeCursor(positions))).toEqual({ ok: true, value: positions });
    positions.set('one-more', { epoch: 'e1', offset: 0 });
    expectTypedError(parseCursor(encodeCursor(positions)), ErrorCode.InvalidCursor);
  });

  it('round-trips the extreme values of a position', () => {
    const positions = new Map<string, Position>([
      ['a', { epoch: 'E'.repeat(64), offset: Number.MAX_SAFE_INTEGER }],
      ['b'.repeat(255), { epoch: '-', offset: 0 }],
    ]);
    expect(parseCursor(encodeCursor(positions))).toEqual({ ok: true, value: positions });
  });

  // encodeCursor accepts any map, and the hub hands out whatever it returns; so an empty map must
  // give a cursor that parses (to no positions), or encodeCursor must not produce one.
  it('round-trips the empty map', () => {
    const empty = new Map<string, Position>();
    expect(parseCursor(encodeCursor(empty))).toEqual({ ok: true, value: empty });
  });
});

describe('signed positions', () => {
  it('round-trips a signature beside the position, per channel, and leaves unsigned ones alone', () => {
    const positions = new Map([
      ['a', { epoch: 'e1', offset: 3, mac: 'AbC-_9xyzAbC-_9x' }],
      ['b', { epoch: 'e2', offset: 0 }],
    ]);
    const parsed = parseCursor(encodeCursor(positions));
    expect(parsed).toEqual({ ok: true, value: positions });
    expect(parseCursor(encodePosition('a', positions.get('a')!))).toEqual({ ok: true, value: new Map([['a', positions.get('a')]]) });
  });
});

describe('parseCursor errors (all 1004 InvalidCursor)', () => {
  const cases: [string, unknown][] = [
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['an object', { epoch: 'e', offset: 1 }],
    ['a boxed string', Object('c1.YXwxfDE')],
    ['an empty string', ''],
    ['no prefix', 'YXwxfDE'],
    ['another prefix', 'c2.YXwxfDE'],
    ['standard base64 characters', 'c1.YX+xfDE/'],
    ['base64 padding', 'c1.YXwxfDE='],
    ['impossible base64 length', 'c1.YXwxf'],
    ['spaces', 'c1.YXwx fDE'],
    ['two fields', rawCursor('a|1')],
    ['five fields', rawCursor('a|e|1|m|x')],
    ['an empty signature', rawCursor('a|e|1|')],
    ['a signature outside its alphabet', rawCursor('a|e|1|m.x')],
    ['a 65-character signature', rawCursor(`a|e|1|${'m'.repeat(65)}`)],
    ['an empty channel', rawCursor('|e|1')],
    ['an invalid channel', rawCursor('a b|e|1')],
    ['a ".." channel', rawCursor('a..b|e|1')],
    ['a 256-character channel', rawCursor(`${'a'.repeat(256)}|e|1`)],
    ['an empty epoch', rawCursor('a||1')],
    ['a 65-character epoch', rawCursor(`a|${'e'.repeat(65)}|1`)],
    ['an epoch outside its alphabet', rawCursor('a|e.1|1')],
    ['a negative offset', rawCursor('a|e|-1')],
    ['a leading zero', rawCursor('a|e|01')],
    ['a fractional offset', rawCursor('a|e|1.5')],
    ['an exponent offset', rawCursor('a|e|1e3')],
    ['an empty offset', rawCursor('a|e|')],
    ['an unsafe offset', rawCursor(`a|e|${Number.MAX_SAFE_INTEGER + 1}`)],
    ['a 17-digit offset', rawCursor('a|e|12345678901234567')],
    ['a duplicate channel', rawCursor('a|e|1;a|e|2')],
    ['a trailing separator', rawCursor('a|e|1;')],
    ['too many channels', rawCursor(Array.from({ length: MAX_CURSOR_CHANNELS + 1 }, (_, i) => `c${i}|e|1`).join(';'))],
    ['more than MAX_CURSOR_LENGTH characters', `c1.${'A'.repeat(MAX_CURSOR_LENGTH)}`],
  ];
  it.each(cases)('rejects %s', (_name, input) => {
    expectTypedError(parseCursor(input), ErrorCode.InvalidCursor);
  });

  it('never throws, for any value', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withBigInt: true,
          withBoxedValues: true,
          withDate: true,
          withMap: true,
          withSet: true,
          withNullPrototype: true,
          withObjectString: true,
          withTypedArray: true,
          withSparseArray: true,
        }),
        (input) => expectWellFormed(parseCursor(input)),
      ),
    );
  });

  it('never throws for any string, any code point, and anything that looks like a cursor', () => {
    const structured = fc
      .array(fc.tuple(fc.string(), fc.string(), fc.oneof(fc.string(), fc.integer().map(String))), { maxLength: 5 })
      .map((parts) =>
        rawCursor(
          parts
            .map((p) => p.join('|'))
            .join(';')
            .replace(/[\u0100-\uffff]/g, '?'),
        ),
      );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.string({ unit: 'grapheme' }),
          fc.string({ unit: fc.constantFrom(...'AZaz09-_+/=.c1 '.split('')) }).map((s) => `c1.${s}`),
          structured,
        ),
        (input) => {
          const result = parseCursor(input);
          expectWellFormed(result);
          if (!result.ok) expect(result.error.code).toBe(ErrorCode.InvalidCursor);
        },
      ),
    );
  });
});

describe('parseSince', () => {
  it('reads a position object, copying only epoch and offset', () => {
    expect(parseSince({ epoch: 'abc', offset: 7, extra: true }, 'news')).toEqual({ ok: true, value: { epoch: 'abc', offset: 7 } });
  });

  it('reads the position of the channel from a cursor, undefined when the cursor does not cover it', () => {
    const cursor = encodeCursor(
      new Map([
        ['news', { epoch: 'e1', offset: 3 }],
        ['sport', { epoch: 'e2', offset: 9 }],
      ]),
    );
    expect(parseSince(cursor, 'sport')).toEqual({ ok: true, value: { epoch: 'e2', offset: 9 } });
    expect(parseSince(cursor, 'weather')).toEqual({ ok: true, value: undefined });
  });

  it('gives the same position from a cursor or a position, for any channel and position', () => {
    fc.assert(
      fc.property(channelArb, positionArb, (channel, position) => {
        expect(parseSince(encodePosition(channel, position), channel)).toEqual({ ok: true, value: position });
        expect(parseSince(position, channel)).toEqual({ ok: true, value: position });
      }),
    );
  });

  const cases: [string, unknown][] = [
    ['undefined', undefined],
    ['null', null],
    ['a number', 5],
    ['a boolean', true],
    ['an array', [{ epoch: 'e', offset: 1 }]],
    ['an empty object', {}],
    ['a garbage string', 'garbage'],
    ['an empty string', ''],
    ['an offset string', { epoch: 'e', offset: '1' }],
    ['a negative offset', { epoch: 'e', offset: -1 }],
    ['a fractional offset', { epoch: 'e', offset: 1.5 }],
    ['an unsafe offset', { epoch: 'e', offset: 2 ** 53 }],
    ['a NaN offset', { epoch: 'e', offset: Number.NaN }],
    ['an empty epoch', { epoch: '', offset: 1 }],
    ['a numeric epoch', { epoch: 1, offset: 1 }],
    ['a 65-character epoch', { epoch: 'e'.repeat(65), offset: 1 }],
    ['an epoch with a space', { epoch: 'e 1', offset: 1 }],
    ['a position behind __proto__', JSON.parse('{"__proto__":{"epoch":"e","offset":1}}')],
  ];
  it.each(cases)('rejects %s with 1004', (_name, since) => {
    expectTypedError(parseSince(since, 'news'), ErrorCode.InvalidCursor);
  });

  it('never throws, for any value and channel', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything({ withBigInt: true, withBoxedValues: true, withNullPrototype: true, withMap: true, withSet: true }),
          fc.string({ unit: 'binary' }),
          positionArb,
        ),
        fc.string({ unit: 'binary' }),
        (since, channel) => {
          const result = parseSince(since, channel);
          expectWellFormed(result);
          if (!result.ok) expect(result.error.code).toBe(ErrorCode.InvalidCursor);
        },
      ),
    );
  });
});
