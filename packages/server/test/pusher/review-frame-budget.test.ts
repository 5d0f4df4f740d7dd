import { eventually, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { APP, clientOptions, PusherClients, startAuthApp, startPusherHub, subscribed, type AuthApp } from './pusher-fixtures.js';

// The frame rate limit never refuses what a well-behaved client does: pusher-js subscribes every
// channel at once when it connects (a burst of maxChannels + 8 at least), and client events are
// limited by the app's clientEventsPerSecond (4301), never cut short by the frame limit (4302/4100).

describe('Pusher door: the frame limit leaves room for well-behaved clients', () => {
  let hub: TestHub | undefined;
  let auth: AuthApp | undefined;
  const clients = new PusherClients();
  afterEach(async () => {
    clients.closeAll();
    await hub?.close();
    await auth?.close();
    hub = undefined;
    auth = undefined;
  });

  it('pusher-js subscribes more channels at once than commandBurst', async () => {
    hub = await startPusherHub({ commandsPerSecond: 5, commandBurst: 5 });
    const client = await clients.connect(clientOptions(hub));
    const names = Array.from({ length: 12 }, (_, i) => `c${i}`);
    await Promise.all(names.map((name) => subscribed(client, name)));
    expect(names.every((name) => client.channel(name).subscribed)).toBe(true);
  });

  it('client events up to clientEventsPerSecond are not refused by the frame limit', async () => {
    hub = await startPusherHub({ commandsPerSecond: 100, commandBurst: 200 }, { apps: [{ ...APP, clientEventsPerSecond: 1000 }] });
    auth = await startAuthApp();
    const sender = await WsTestClient.connect(`ws://127.0.0.1:${hub.port}/app/${APP.key}?protocol=7`);
    await sender.frames.count(1);
    const socketId = (JSON.parse(sender.frames.items[0].data as string) as { socket_id: string }).socket_id;
    const res = await fetch(`${auth.url}/auth`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ socket_id: socketId, channel_name: 'private-burst' }).toString(),
    });
    const { auth: signature } = (await res.json()) as { auth: string };
    sender.sendRaw(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'private-burst', auth: signature } }));
    await sender.frames.until((fs) => fs.some((f) => f.event === 'pusher_internal:subscription_succeeded'), 'subscribed');
    for (let i = 0; i < 400; i++) sender.sendRaw(JSON.stringify({ event: 'client-tick', channel: 'private-burst', data: { i } }));
    const stored = async (): Promise<number> => (await hub!.server.hub.read('app1:private-burst')).messages.length;
    await eventually(async () => (await stored()) === 400, 'the 400 client events stored', { intervalMs: 10 });
    expect(sender.frames.items.filter((f) => f.event === 'pusher:error')).toEqual([]);
    expect(hub.server.stats().pusher).toBe(1);
    await sender.close();
  });
});
