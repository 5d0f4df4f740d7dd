import { applyDelta } from 'fossil-delta';
import { describe, expect, it } from 'vitest';
import { serializeEnvelope } from '../engine/broker.js';
import { HubMessage } from './hub-message.js';
import { deltaJson, messageDelta, messageDeltaJson, textDelta } from './message-delta.js';

const message = (offset: number, dataJson: string, epoch = 'e'): HubMessage =>
  new HubMessage({ channel: 'dash:a', epoch, offset, time: 1, json: serializeEnvelope('dash:a', epoch, offset, 1, dataJson) });

const units = (text: string): number[] => Array.from({ length: text.length }, (_, i) => text.charCodeAt(i));
const apply = (base: string, delta: string): string => String.fromCharCode(...applyDelta(units(base), units(delta)));

const big = (cpu: number, label: string): string =>
  JSON.stringify({ label, hosts: Array.from({ length: 30 }, (_, i) => ({ host: `web-${i}`, cpu: i === 7 ? cpu : i })) });

describe('message deltas', () => {
  it('takes the delta over the data as JSON.stringify writes it, whatever spacing was stored', () => {
    const base = message(1, big(1, 'a'));
    const next = message(2, big(2, 'a').replaceAll(',', ', '));
    next.base = base;
    const delta = messageDelta(next)!;
    expect(messageDeltaJson(next)).toBe(JSON.stringify(delta));
    expect(apply(JSON.stringify(JSON.parse(base.json).data), delta)).toBe(big(2, 'a'));
    expect(JSON.parse(deltaJson(next)!)).toEqual({ type: 'delta', channel: 'dash:a', offset: 2, epoch: 'e', time: 1, delta });
  });

  it('survives any text: multibyte characters, emoji whose surrogate pair the delta splits, lone surrogates', () => {
    const pairs = [
      ['🔥🔥🔥 Übersicht', '🔥🚨🔥 Übersicht'],
      ['\ud83d\ude00'.repeat(50), '\ud83d\ude01'.repeat(50)],
      ['a\ud800b'.repeat(20), 'a\udc00b'.repeat(20)],
    ];
    for (const [a, b] of pairs) {
      const carried = JSON.parse(JSON.stringify(textDelta(a!, b!))) as string;
      expect(apply(a!, carried)).toBe(b);
      expect(Buffer.from(JSON.stringify(carried)).toString()).toBe(JSON.stringify(carried));
    }
  });

  it('has none without the message just before, or when it would not be shorter than the data', () => {
    const first = message(1, big(1, 'a'));
    expect(messageDelta(first)).toBeUndefined();
    const gap = message(3, big(3, 'a'));
    gap.base = first;
    expect(messageDelta(gap)).toBeUndefined();
    const otherEpoch = message(2, big(3, 'a'), 'f');
    otherEpoch.base = first;
    expect(messageDelta(otherEpoch)).toBeUndefined();
    const small = message(2, '"b"');
    small.base = message(1, '"a"');
    expect(messageDelta(small)).toBeUndefined();
    expect(deltaJson(small)).toBeUndefined();
  });
});
