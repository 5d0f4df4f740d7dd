import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeName, mappedChannel, unescapeName } from './escaped-channel.js';

describe('escapeName', () => {
  it('keeps Herald channel characters and escapes the others', () => {
    expect(escapeName('private-chat')).toBe('private-chat');
    expect(escapeName('a;b')).toBe('a~3Bb');
    expect(escapeName('a..b...c')).toBe('a.~2Eb.~2E~2Ec');
    expect(escapeName('https://example.com/books/1?x=y#z')).toBe('https://example.com/books/1~3Fx=y~23z');
    expect(escapeName('~é')).toBe('~7E~C3~A9');
  });

  it('is reversed exactly by unescapeName', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (name) => unescapeName(escapeName(name)) === name));
  });

  it('gives a name to any Herald channel', () => {
    expect(unescapeName('a~zz')).toBe('a~zz');
    expect(unescapeName('app1:private-chat~3Bx')).toBe('app1:private-chat;x');
  });

  it('maps to a valid channel or says why not', () => {
    expect(mappedChannel('app1:', 'a;b')).toEqual({ channel: 'app1:a~3Bb' });
    expect(mappedChannel('', '')).toEqual({ error: 'channel must not be empty' });
    expect(mappedChannel('', 'x'.repeat(300))).toEqual({ error: 'channel must be at most 255 characters' });
  });
});
