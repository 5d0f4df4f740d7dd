import { eventually, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { utf8Prefix } from '../../src/pusher/pusher-close-codes.js';
import { APP, startPusherHub } from './pusher-fixtures.js';

describe('Pusher door: refused upgrades give their connection slot back', () => {
  let hub: TestHub | undefined;
  const raw: WsTestClient[] = [];
  afterEach(async () => {
    await Promise.all(raw.splice(0).map((c) => c.close()));
    await hub?.close();
    hub = undefined;
  });

  const connect = async (path: string): Promise<WsTestClient> => {
    const client = await WsTestClient.connect(`ws://127.0.0.1:${hub!.port}${path}`);
    raw.push(client);
    return client;
  };

  /** Resolves once a client of the app is let in (refused with 429/503 while the slots are taken). */
  const admitted = (): Promise<unknown> =>
    eventually(
      async () => {
        try {
          const client = await connect(`/app/${APP.key}?protocol=7`);
          return (await client.frames.count(1))[0].event as string;
        } catch (error) {
          return String(error);
        }
      },
      (event) => event === 'pusher:connection_established',
      'a client of the app let in',
      { timeoutMs: 3000, intervalMs: 100 },
    );

  it('an unknown key of multi-byte characters (a reason over 123 bytes) is refused with 4001 and frees the slot', async () => {
    hub = await startPusherHub({ connectionsPerIp: 3 });
    const key = encodeURIComponent('é'.repeat(100));
    for (let i = 0; i < 4; i++) {
      const refused = await connect(`/app/${key}?protocol=7`);
      const [error] = await refused.frames.count(1);
      expect(error.event).toBe('pusher:error');
      expect(error.data.code).toBe(4001);
      const closed = await refused.closed;
      expect(closed.code).toBe(4001);
      expect(Buffer.byteLength(closed.reason)).toBeLessThanOrEqual(123);
    }
    // Every slot came back (each when its socket closed): the per-IP limit of 3 still lets a real client in.
    await admitted();
  });

  it('an unsupported protocol version of multi-byte characters is refused with 4007', async () => {
    hub = await startPusherHub({ maxConnections: 1 });
    for (let i = 0; i < 2; i++) {
      const refused = await connect(`/app/${APP.key}?protocol=${encodeURIComponent('é'.repeat(200))}`);
      expect((await refused.closed).code).toBe(4007);
    }
    await admitted();
  });

  it('utf8Prefix cuts at a character boundary within the byte limit', () => {
    expect(utf8Prefix('abc')).toBe('abc');
    expect(Buffer.byteLength(utf8Prefix('é'.repeat(100)))).toBe(122);
    expect(utf8Prefix('aé', 2)).toBe('a');
    expect(utf8Prefix('😀😀', 5)).toBe('😀');
  });
});
