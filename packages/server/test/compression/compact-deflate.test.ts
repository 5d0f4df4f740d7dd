import { describe, expect, it } from 'vitest';
import { dataFrames, frameBytes, frameText, isCompressed, publishTo, rawWsScope } from './raw-ws.js';

const OFFER = 'permessage-deflate; client_max_window_bits';
const big = { rows: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `sensor-${i}`, value: i * 1.5, status: 'ok' })) };

describe('permessage-deflate with herald.compact', () => {
  const scope = rawWsScope();

  it('compresses compact pushes at or above the threshold once per frame: every session gets the same bytes', async () => {
    const hub = await scope.start();
    const raw = await Promise.all([1, 2, 3].map(() => scope.connect(hub.port, OFFER, 'herald.compact')));
    for (const client of raw) {
      expect(client.headers['sec-websocket-protocol']).toBe('herald.compact');
      expect(client.headers['sec-websocket-extensions']).toContain('permessage-deflate');
      await client.subscribe('dash');
    }
    const [first, ...others] = await publishTo(hub, raw, 'dash', ['small', big]);
    const [small, large] = first!;
    expect(isCompressed(small!)).toBe(false);
    expect(JSON.parse(frameText(small!))).toEqual([0, 1, expect.any(Number), 'small']);
    expect(isCompressed(large!)).toBe(true);
    expect(JSON.parse(frameText(large!))).toEqual([0, 2, expect.any(Number), big]);
    expect(large!.payload.length).toBeLessThan(JSON.stringify(big).length / 3);
    for (const pushes of others) expect(pushes.map((f) => f.bytes)).toEqual([small!.bytes, large!.bytes]);
  });

  it('compresses herald.msgpack binary pushes at or above the threshold once per frame (RSV1 on a binary frame)', async () => {
    const hub = await scope.start();
    const { decode, encode } = await import('@msgpack/msgpack');
    const raw = await Promise.all([1, 2].map(() => scope.connect(hub.port, OFFER, 'herald.msgpack')));
    for (const client of raw) {
      expect(client.headers['sec-websocket-protocol']).toBe('herald.msgpack');
      client.send('', { binary: true, payload: Buffer.from(encode({ id: 1, type: 'subscribe', channel: 'dash' })) });
      await client.until((frames) => dataFrames(frames).length === 1);
    }
    const [first, other] = await publishTo(hub, raw, 'dash', ['small', big]);
    const [small, large] = first!;
    expect(small!.first).toBe(0x82);
    expect(decode(small!.payload)).toEqual([0, 1, expect.any(Number), 'small']);
    expect(large!.first).toBe(0xc2); // FIN + RSV1 + binary
    expect(decode(frameBytes(large!))).toEqual([0, 2, expect.any(Number), big]);
    expect(large!.payload.length).toBeLessThan(frameBytes(large!).length / 3);
    expect(other!.map((f) => f.bytes)).toEqual([small!.bytes, large!.bytes]);
  });

  it('sends compact delta items through the same path: a large one compressed once per frame, a small one as is', async () => {
    const hub = await scope.start({ deltaNamespaces: ['dash'] });
    const raw = await Promise.all([1, 2].map(() => scope.connect(hub.port, OFFER, 'herald.compact')));
    for (const client of raw) {
      await client.subscribe('dash:d', { delta: true });
      expect(JSON.parse(frameText(dataFrames(client.frames)[0]!))).toMatchObject({ ref: 0, delta: true });
    }
    // 300 rows (under the 16,384-unit delta cap): one value changed (a small delta), then every tenth row's name (a delta of several hundred bytes).
    const rows = Array.from({ length: 300 }, (_, i) => ({ id: i, name: `sensor-${i}`, value: i }));
    const second = rows.map((row, i) => (i === 7 ? { ...row, value: -1 } : row));
    const third = second.map((row, i) => (i % 10 === 0 ? { ...row, name: `renamed-sensor-${i}-${(i * 7919) % 1000}` } : row));
    const [pushes, other] = await publishTo(hub, raw, 'dash:d', [rows, second, third]);
    const [full, small, large] = pushes!;
    expect(isCompressed(full!)).toBe(true);
    const smallItem = JSON.parse(frameText(small!));
    const largeItem = JSON.parse(frameText(large!));
    expect(smallItem).toEqual([-1, 2, expect.any(Number), expect.any(String)]);
    expect(largeItem).toEqual([-1, 3, expect.any(Number), expect.any(String)]);
    expect(isCompressed(small!)).toBe(false);
    expect(largeItem[3].length).toBeGreaterThan(256);
    expect(isCompressed(large!)).toBe(true);
    expect(other![2]!.bytes).toEqual(large!.bytes);
  });
});
