import { decode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { CursorSigner } from '../auth/cursor-signer.js';
import { serializeEnvelope } from '../engine/broker.js';
import { HubMessage } from '../hub/hub-message.js';
import { signedEncodings } from './signed-json.js';
import { chooseSubprotocol, JSON_WIRE, offeredSubprotocols, wsWire } from './ws-wire.js';

const message = (channel: string, epoch: string, offset: number, data: unknown): HubMessage =>
  new HubMessage({
    channel,
    epoch,
    offset,
    time: 1000 + offset,
    json: serializeEnvelope(channel, epoch, offset, 1000 + offset, JSON.stringify(data)),
  });

/** The payload of a server frame (unmasked: a 2, 4 or 10-byte header). */
function payload(frame: Buffer | undefined): Buffer {
  const length = frame![1]! & 0x7f;
  return frame!.subarray(length === 126 ? 4 : length === 127 ? 10 : 2);
}

const encodings = signedEncodings(new CursorSigner(['ws-wire-test-key-0123456789abcdef']));

describe('wsWire', () => {
  it("picks the client's first subprotocol the hub speaks, or none", () => {
    expect(chooseSubprotocol(offeredSubprotocols('mqtt, herald.msgpack,herald.compact'))).toBe('herald.msgpack');
    expect(chooseSubprotocol(offeredSubprotocols('herald.v1'))).toBeUndefined();
    expect(wsWire(undefined)).toBe(JSON_WIRE);
    expect(wsWire('')).toBe(JSON_WIRE);
  });

  it('herald.compact: refs are the lowest free ones; an item carries the epoch only when it differs from the one told', () => {
    const wire = wsWire('herald.compact');
    expect(wire.assign('a', 'e1')).toBe(0);
    expect(wire.assign('b', 'e1')).toBe(1);
    expect(payload(wire.message(message('b', 'e1', 1, 'x'), false, encodings)).toString()).toBe('[1,1,1001,"x"]');
    // Told nothing of e2 (no gap): the push says so itself, once.
    expect(payload(wire.message(message('b', 'e2', 1, 'y'), false, encodings)).toString()).toBe('[1,1,1001,"y","e2"]');
    expect(payload(wire.message(message('b', 'e2', 2, 'z'), false, encodings)).toString()).toBe('[1,2,1002,"z"]');
    // A gap told the client e3: no epoch on the push.
    wire.told('a', 'e3');
    expect(payload(wire.message(message('a', 'e3', 5, 1), false, encodings)).toString()).toBe('[0,5,1005,1]');
    wire.release('a');
    expect(wire.message(message('a', 'e3', 6, 1), false, encodings)).toBeUndefined();
    expect(wire.assign('c', 'e1')).toBe(0);
    expect(wire.assign('d', 'e1')).toBe(2);
  });

  it('herald.compact: a signed push carries the epoch or null, then the signed cursor', () => {
    const wire = wsWire('herald.compact');
    wire.assign('s', 'e1');
    const m = message('s', 'e1', 3, { k: 1 });
    expect(payload(wire.message(m, true, encodings)).toString()).toBe(`[0,3,1003,{"k":1},null,"${encodings.cursor(m)}"]`);
  });

  it('herald.msgpack: the same items, binary; the encoding is built once per variant and shared', () => {
    const first = wsWire('herald.msgpack');
    const second = wsWire('herald.msgpack');
    first.assign('m', 'e1');
    second.assign('m', 'e1');
    const m = message('m', 'e1', 1, { x: [1, 'two', null] });
    const a = first.message(m, false, encodings)!;
    expect(a[0]).toBe(0x82);
    expect(decode(payload(a))).toEqual([0, 1, 1001, { x: [1, 'two', null] }]);
    expect(second.message(m, false, encodings)).toBe(a);
    const signed = first.message(m, true, encodings)!;
    expect(decode(payload(signed))).toEqual([0, 1, 1001, { x: [1, 'two', null] }, null, encodings.cursor(m)]);
  });

  it("herald.msgpack: history splices each envelope's cached bytes into the reply map", () => {
    const wire = wsWire('herald.msgpack');
    const messages = [message('h', 'e1', 1, 'a'), message('h', 'e1', 2, { b: true })];
    const frame = wire.history({ type: 'reply', id: 7, channel: 'h', more: true }, messages);
    expect(decode(payload(frame))).toEqual({
      type: 'reply',
      id: 7,
      channel: 'h',
      more: true,
      messages: messages.map((m) => JSON.parse(m.json) as unknown),
    });
  });

  it('delta pushes: `[-ref-1, offset, time, delta]` in herald.compact and MessagePack, the JSON push without a ref; none without a base', () => {
    const data = (n: number): unknown => ({
      title: 'board',
      rows: Array.from({ length: 30 }, (_, i) => ({ id: i, value: i === 3 ? n : i })),
    });
    const first = message('dash:a', 'e1', 1, data(0));
    const second = message('dash:a', 'e1', 2, data(7));
    second.base = first;
    const compact = wsWire('herald.compact');
    const msgpack = wsWire('herald.msgpack');
    for (const wire of [compact, msgpack]) {
      wire.assign('other', 'e1');
      wire.assign('dash:a', 'e1');
    }
    expect(compact.delta(first, false, encodings)).toBeUndefined();
    const json = JSON.parse(payload(JSON_WIRE.delta(second, false, encodings)).toString());
    expect(json).toMatchObject({ type: 'delta', channel: 'dash:a', offset: 2, epoch: 'e1', time: 1002 });
    expect(payload(compact.delta(second, false, encodings)).toString()).toBe(JSON.stringify([-2, 2, 1002, json.delta]));
    const bytes = payload(msgpack.delta(second, false, encodings));
    expect(decode(bytes)).toEqual([-2, 2, 1002, json.delta]);
    // A fixarray of 4, ref -2 as a negative fixint, the delta as a string.
    expect([...bytes.subarray(0, 2)]).toEqual([0x94, 0xfe]);
    // A channel without a ref gets none; a new epoch travels with the delta as with a full push.
    expect(wsWire('herald.compact').delta(second, false, encodings)).toBeUndefined();
    const fresh = wsWire('herald.compact');
    fresh.assign('dash:a', 'e0');
    expect(JSON.parse(payload(fresh.delta(second, false, encodings)).toString())).toEqual([-1, 2, 1002, json.delta, 'e1']);
  });
});
