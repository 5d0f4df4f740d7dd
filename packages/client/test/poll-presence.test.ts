import { createClient, type HeraldClient, type PresenceChange } from '@herald/client/node';
import { Collector, startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

describe('presence over the polling transport', () => {
  let hub: TestHub | undefined;
  const clients: HeraldClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await hub?.close();
    hub = undefined;
  });

  it('is a member while it polls, receives joins and leaves like WebSocket and SSE, and leaves when closed', async () => {
    hub = await startTestHub({ pollPresenceGrace: 1 });
    const c = createClient({ url: hub.url, transports: ['polling'], pollWait: 5 });
    clients.push(c);
    const sub = c.subscribe('room', undefined, { joinLeave: true });
    const changes = new Collector<PresenceChange>();
    sub.on('presence', (change) => changes.push(change));
    // Its own join, as on the other transports.
    await changes.count(1);
    expect(changes.items[0]).toEqual({ type: 'join', channel: 'room', member: { client: expect.any(String), user: null } });
    const self = changes.items[0]!.member.client;
    expect((await sub.presence()).map((m) => m.client)).toEqual([self]);

    const ws = await WsTestClient.connect(hub.wsUrl);
    await ws.request({ type: 'subscribe', channel: 'room' });
    await changes.count(2);
    await hub.server.hub.publish('room', 'between');
    await ws.close();
    await changes.count(3);
    expect(changes.items.slice(1).map((p) => p.type)).toEqual(['join', 'leave']);
    expect(changes.items[1]!.member.client).toBe(changes.items[2]!.member.client);

    // Polls on for longer than the grace period: still the same single member.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect((await hub.server.hub.presence('room')).map((m) => m.client)).toEqual([self]);
    expect(changes.items).toHaveLength(3);

    c.close();
    await expect.poll(async () => (await hub!.server.hub.presence('room')).length, { timeout: 5000 }).toBe(0);
  });
});
