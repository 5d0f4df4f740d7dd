import { startTestHub, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { dataFrames, frameText, isCompressed, RawWs } from './raw-ws.js';

const OFFER = 'permessage-deflate; client_max_window_bits';
const big = { rows: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `sensor-${i}`, value: i * 1.5, status: 'ok' })) };

/** Subscribes a raw client to `channel` and waits for the reply. */
async function subscribe(client: RawWs, channel: string): Promise<void> {
  const before = dataFrames(client.frames).length;
  client.send(JSON.stringify({ id: 1, type: 'subscribe', channel }));
  await client.until((frames) => dataFrames(frames).length > before);
}

describe('permessage-deflate with herald.compact', () => {
  let hub: TestHub | undefined;
  const clients: RawWs[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    await hub?.close();
    hub = undefined;
  });

  it('compresses compact pushes at or above the threshold once per frame: every session gets the same bytes', async () => {
    hub = await startTestHub();
    const raw = await Promise.all([1, 2, 3].map(() => RawWs.connect(hub!.port, OFFER, 'herald.compact')));
    clients.push(...raw);
    for (const client of raw) {
      expect(client.headers['sec-websocket-protocol']).toBe('herald.compact');
      expect(client.headers['sec-websocket-extensions']).toContain('permessage-deflate');
      await subscribe(client, 'dash');
    }
    await hub.server.hub.publish('dash', 'small');
    await hub.server.hub.publish('dash', big);
    for (const client of raw) await client.until((frames) => dataFrames(frames).length === 3);
    const [small, large] = dataFrames(raw[0]!.frames).slice(1);
    expect(isCompressed(small!)).toBe(false);
    expect(JSON.parse(frameText(small!))).toEqual([0, 1, expect.any(Number), 'small']);
    expect(isCompressed(large!)).toBe(true);
    expect(JSON.parse(frameText(large!))).toEqual([0, 2, expect.any(Number), big]);
    expect(large!.payload.length).toBeLessThan(JSON.stringify(big).length / 3);
    for (const client of raw.slice(1)) {
      expect(dataFrames(client.frames)[1]!.bytes.equals(small!.bytes)).toBe(true);
      expect(dataFrames(client.frames)[2]!.bytes.equals(large!.bytes)).toBe(true);
    }
  });

  it('leaves herald.msgpack binary frames uncompressed', async () => {
    hub = await startTestHub();
    const client = await RawWs.connect(hub.port, OFFER, 'herald.msgpack');
    clients.push(client);
    expect(client.headers['sec-websocket-protocol']).toBe('herald.msgpack');
    const { encode } = await import('@msgpack/msgpack');
    client.send('', { binary: true, payload: Buffer.from(encode({ id: 1, type: 'subscribe', channel: 'dash' })) });
    await client.until((frames) => dataFrames(frames).length === 1);
    await hub.server.hub.publish('dash', big);
    await client.until((frames) => dataFrames(frames).length === 2);
    const push = dataFrames(client.frames)[1]!;
    expect(push.first).toBe(0x82);
    expect(isCompressed(push)).toBe(false);
  });
});
