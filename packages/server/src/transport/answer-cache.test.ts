import { describe, expect, it } from 'vitest';
import type { ReadOutcome } from '../hub/hub.js';
import { HubMessage } from '../hub/hub-message.js';
import { AnswerCache } from './answer-cache.js';

const message = (offset: number, json = `{"offset":${offset}}`, epoch = 'e1'): HubMessage =>
  new HubMessage({ channel: 'c', epoch, offset, time: 0, json });
const read = (messages: HubMessage[], more = false): ReadOutcome => ({
  channel: 'c',
  messages,
  position: { epoch: 'e1', offset: messages.at(-1)?.offset ?? 0 },
  more,
});

describe('AnswerCache', () => {
  it('gives the body back for a read of the same messages, and nothing for other messages, other JSON at the same offsets, a cut read or an empty one', () => {
    const cache = new AnswerCache();
    const body = Buffer.from('answer');
    cache.set(read([message(3), message(4)]), body);
    expect(cache.get(read([message(3), message(4)]))).toBe(body);
    expect(cache.get(read([message(3)]))).toBeUndefined();
    expect(cache.get(read([message(4), message(5)]))).toBeUndefined();
    expect(cache.get(read([message(3), message(4)], true))).toBeUndefined();
    expect(cache.get(read([message(3), message(4, '{"reused":4}')]))).toBeUndefined();
    expect(cache.get(read([message(3, '{"reused":3}'), message(4)]))).toBeUndefined();
    expect(cache.get(read([message(3, undefined, 'e2'), message(4, undefined, 'e2')]))).toBeUndefined();
    expect(cache.get(read([]))).toBeUndefined();
  });

  it('stays bounded: past 64 answers it starts again empty', () => {
    const cache = new AnswerCache();
    for (let i = 1; i <= 64; i++) cache.set(read([message(i)]), Buffer.from(String(i)));
    expect(cache.get(read([message(1)]))?.toString()).toBe('1');
    cache.set(read([message(65)]), Buffer.from('65'));
    expect(cache.get(read([message(1)]))).toBeUndefined();
    expect(cache.get(read([message(65)]))?.toString()).toBe('65');
  });
});
