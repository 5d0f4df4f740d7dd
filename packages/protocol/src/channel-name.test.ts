import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkChannelName, MAX_CHANNEL_LENGTH } from './channel-name.js';
import { ErrorCode } from './error-codes.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-:.@/=+,!~$';
const ALPHABET_CHARS = ALPHABET.split('');
const ERROR_CODES = new Set<number>(Object.values(ErrorCode));

/** The documented rule, written independently of the implementation. */
function isValidName(name: string): boolean {
  return name.length >= 1 && name.length <= 255 && name.split('').every((c) => ALPHABET.includes(c)) && !name.includes('..');
}

function expectRejected(name: unknown): void {
  const result = checkChannelName(name);
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.error.code).toBe(ErrorCode.InvalidChannel);
  expect(result.error.message.length).toBeGreaterThan(0);
}

describe('checkChannelName', () => {
  it('allows 255 characters and no more', () => {
    expect(MAX_CHANNEL_LENGTH).toBe(255);
    expect(checkChannelName('a'.repeat(255))).toEqual({ ok: true, value: 'a'.repeat(255) });
    expectRejected('a'.repeat(256));
  });

  it.each(['a', 'news', 'chat:room-1', 'user@example.com/inbox', 'a.b.c', './x', 'x/.', '$=+,!~_-', ALPHABET])('accepts %j', (name) => {
    expect(checkChannelName(name)).toEqual({ ok: true, value: name });
  });

  const rejected: [string, unknown][] = [
    ['the empty string', ''],
    ['256 characters', 'x'.repeat(256)],
    ['a space', 'a b'],
    ['a leading space', ' a'],
    ['a trailing newline', 'news\n'],
    ['a tab', 'a\tb'],
    ['CR LF', 'a\r\nb'],
    ['NUL', 'a\u0000b'],
    ['DEL', 'a\u007fb'],
    ['a wildcard *', 'news.*'],
    ['a lone *', '*'],
    ['a wildcard ?', 'news?'],
    ['a wildcard >', 'news.>'],
    ['a #', 'news#1'],
    ['..', '..'],
    ['a .. segment', 'a/../b'],
    ['a leading ..', '../etc'],
    ['a double quote', 'a"b'],
    ['a quote', "a'b"],
    ['a backslash', 'a\\b'],
    ['a pipe (the cursor separator)', 'a|b'],
    ['a semicolon (the cursor separator)', 'a;b'],
    ['a percent', 'a%20b'],
    ['an ampersand', 'a&b'],
    ['a non-ASCII letter', 'café'],
    ['an emoji', 'news🔥'],
    ['a lone surrogate', 'a\ud800'],
    ['a non-breaking space', 'a\u00a0b'],
    ['a line separator', 'a\u2028b'],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['an array', ['news']],
    ['an object', { name: 'news' }],
    ['a boxed string', Object('news')],
  ];
  it.each(rejected)('rejects %s with 1003', (_name, value) => {
    expectRejected(value);
  });

  it.each([...Array(32).keys(), 127].map((code) => [code]))('rejects control character %i', (code) => {
    expectRejected(`a${String.fromCharCode(code)}b`);
    expectRejected(String.fromCharCode(code));
  });

  it('accepts exactly the documented names (1–255 characters of the alphabet, no "..")', () => {
    const nearlyValid = fc.string({
      unit: fc.oneof(
        { weight: 20, arbitrary: fc.constantFrom(...ALPHABET_CHARS) },
        { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
      ),
      maxLength: 260,
    });
    const long = fc.string({ unit: fc.constantFrom(...ALPHABET_CHARS), minLength: 250, maxLength: 260 });
    fc.assert(
      fc.property(fc.oneof(nearlyValid, long, fc.string(), fc.string({ unit: 'binary' })), (name) => {
        const result = checkChannelName(name);
        if (isValidName(name)) {
          expect(result).toEqual({ ok: true, value: name });
        } else {
          expect(result.ok).toBe(false);
          if (!result.ok) expect(result.error.code).toBe(ErrorCode.InvalidChannel);
        }
      }),
    );
  });

  it('rejects any valid name with one character from outside the alphabet inserted', () => {
    const outside = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => !ALPHABET.includes(c));
    const valid = fc.string({ unit: fc.constantFrom(...ALPHABET_CHARS), maxLength: 100 });
    fc.assert(
      fc.property(valid, outside, valid, (before, bad, after) => {
        expectRejected(before + bad + after);
      }),
    );
  });

  it('never throws and gives a value or a typed error, for any value', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything({
            withBigInt: true,
            withBoxedValues: true,
            withDate: true,
            withMap: true,
            withSet: true,
            withNullPrototype: true,
            withObjectString: true,
            withTypedArray: true,
          }),
          fc.string({ unit: 'binary' }),
          fc.string({ unit: 'grapheme' }),
        ),
        (value) => {
          const result = checkChannelName(value);
          if (result.ok) {
            expect(result.value).toBe(value);
          } else {
            expect(ERROR_CODES.has(result.error.code)).toBe(true);
            expect(result.error.code).toBe(ErrorCode.InvalidChannel);
          }
        },
      ),
    );
  });
});
