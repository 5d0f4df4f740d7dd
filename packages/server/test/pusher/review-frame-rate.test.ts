import { WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { APP, clientOptions, PusherClients, startPusherHub, subscribed } from './pusher-fixtures.js';

describe('Pusher door: the frame rate limit (commandsPerSecond, commandBurst)', () => {
  let hub: TestHub | undefined;
  const clients = new PusherClients();
  const raw: WsTestClient[] = [];
  afterEach(async () => {
    clients.closeAll();
    await Promise.all(raw.splice(0).map((c) => c.close()));
    await hub?.close();
    hub = undefined;
  });

  const connect = async (): Promise<WsTestClient> => {
    const client = await WsTestClient.connect(`ws://127.0.0.1:${hub!.port}/app/${APP.key}?protocol=7`);
    raw.push(client);
    await client.frames.count(1);
    return client;
  };

  it('answers frames over the burst with pusher:error 4302, and closes with 4100 after 50 in a row', async () => {
    // 0.01 per second (commandsPerSecond and the app's clientEventsPerSecond): nothing refills during
    // the test. The burst is max(commandBurst, maxChannels + 8, clientEventsPerSecond) = max(5, 9, 1) = 9.
    hub = await startPusherHub(
      { commandsPerSecond: 0.01, commandBurst: 5, maxChannels: 1 },
      { apps: [{ ...APP, clientEventsPerSecond: 0.01 }] },
    );
    const flooder = await connect();
    for (let i = 0; i < 70; i++) flooder.sendRaw(JSON.stringify({ event: 'pusher:ping', data: {} }));
    const closed = await flooder.closed;
    expect(closed.code).toBe(4100);
    const frames = flooder.frames.items.slice(1);
    expect(frames.slice(0, 9).map((f) => f.event)).toEqual(Array(9).fill('pusher:pong'));
    const errors = frames.slice(9);
    expect(errors).toHaveLength(49);
    for (const error of errors)
      expect(error).toEqual({ event: 'pusher:error', data: { code: 4302, message: expect.stringContaining('0.01') } });
    expect(hub.server.stats().pusher ?? 0).toBe(0);
  });

  it('a refused frame is dropped and the connection goes on; a well-behaved pusher-js client is never limited', async () => {
    // A burst of max(commandBurst, maxChannels + 8, clientEventsPerSecond) = 10 frames: two subscribes and eight pings pass.
    hub = await startPusherHub(
      { commandsPerSecond: 0.01, commandBurst: 3, maxChannels: 2 },
      { apps: [{ ...APP, clientEventsPerSecond: 0.01 }] },
    );
    const client = await connect();
    for (let i = 0; i < 2; i++) client.sendRaw(JSON.stringify({ event: 'pusher:subscribe', data: { channel: `c${i}` } }));
    for (let i = 0; i < 9; i++) client.sendRaw(JSON.stringify({ event: 'pusher:ping', data: {} }));
    await client.frames.until((fs) => fs.filter((f) => f.event !== 'pusher:connection_established').length === 11, 'eleven answers');
    // The refusal is immediate; the subscribes answer when the hub did.
    expect(
      client.frames.items
        .slice(1)
        .map((f) => [f.event, f.channel ?? f.data?.code ?? null])
        .sort(),
    ).toEqual([
      ['pusher:error', 4302],
      ...Array(8).fill(['pusher:pong', null]),
      ['pusher_internal:subscription_succeeded', 'c0'],
      ['pusher_internal:subscription_succeeded', 'c1'],
    ]);
    // Another connection has its own bucket: pusher-js subscribes and receives as usual.
    const pusherJs = await clients.connect(clientOptions(hub));
    await subscribed(pusherJs, 'news');
    expect(pusherJs.connection.state).toBe('connected');
  });
});
