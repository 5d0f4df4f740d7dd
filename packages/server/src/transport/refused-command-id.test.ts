import { describe, expect, it } from 'vitest';
import { REFUSED_DECODE_BYTES, refusedCommandId } from './refused-command-id.js';

const frame = (value: string): Buffer => Buffer.from(value);
/** A publish frame over the decode limit with the given members around its data. */
const big = (before: string, after: string): Buffer =>
  frame(`{${before}"type":"publish","channel":"c","data":"${'x'.repeat(REFUSED_DECODE_BYTES)}"${after}}`);

describe('refusedCommandId', () => {
  it('decodes a frame of at most REFUSED_DECODE_BYTES: the id wherever it is, null when there is none', () => {
    expect(refusedCommandId(frame('{"type":"ping","id":7,"x":1}'), false)).toBe(7);
    expect(refusedCommandId(frame('{"type":"shout","id":"a"}'), false)).toBe('a');
    expect(refusedCommandId(frame('not json'), false)).toBeNull();
    expect(refusedCommandId(frame('{"type":"ping","id":-1}'), false)).toBeNull();
    // The id in the middle: found at exactly the limit, not one byte over it.
    const sized = (bytes: number): Buffer => frame(`{"type":"ping","id":3,"pad":"${'x'.repeat(bytes - 37)}","z":0}`);
    expect(sized(REFUSED_DECODE_BYTES)).toHaveLength(REFUSED_DECODE_BYTES);
    expect(refusedCommandId(sized(REFUSED_DECODE_BYTES), false)).toBe(3);
    expect(refusedCommandId(sized(REFUSED_DECODE_BYTES + 1), false)).toBeNull();
  });

  it('reads the id of a bigger frame only when it is the first or last member', () => {
    expect(refusedCommandId(big('"id":12,', ''), false)).toBe(12);
    expect(refusedCommandId(big(' "id" : "k-1" ,', ''), false)).toBe('k-1');
    expect(refusedCommandId(big('', ',"id":9'), false)).toBe(9);
    expect(refusedCommandId(big('', ',"id":"\\u00e9t\\u00e9"\n'), false)).toBe('été');
    expect(refusedCommandId(frame(`{"type":"publish","id":4,"data":"${'x'.repeat(REFUSED_DECODE_BYTES)}"}`), false)).toBeNull();
  });

  it('never takes an id from inside another value of a bigger frame, nor an invalid one', () => {
    expect(refusedCommandId(frame(`{"type":"publish","data":{"pad":"${'x'.repeat(REFUSED_DECODE_BYTES)}","id":5}}`), false)).toBeNull();
    expect(refusedCommandId(frame(`{"data":{"id":5,"pad":"${'x'.repeat(REFUSED_DECODE_BYTES)}"},"type":"publish"}`), false)).toBeNull();
    expect(refusedCommandId(big('', ',"id":-3'), false)).toBeNull();
    expect(refusedCommandId(big('', ',"id":""'), false)).toBeNull();
    expect(refusedCommandId(big('', `,"id":"${'k'.repeat(65)}"`), false)).toBeNull();
    expect(refusedCommandId(big('', `,"id":"${'\\u00e9'.repeat(64)}"`), false)).toBe('é'.repeat(64));
    expect(refusedCommandId(big('', ',"id":9007199254740993'), false)).toBeNull();
    expect(refusedCommandId(big('', ',"id":"\\x"'), false)).toBeNull();
  });

  it('binary frames have no id', () => {
    expect(refusedCommandId(frame('{"type":"ping","id":7}'), true)).toBeNull();
  });
});
