import { createClient, type HeraldClient, type PresenceChange } from '@herald/client/node';
import { Collector, startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { compact } from '@herald/client/compact';
import { afterEach, describe, expect, it } from 'vitest';

// In JSON and with compact message items (format=compact): joins and leaves go between the same messages.
describe.each([
  ['json', undefined],
  ['compact', compact],
] as const)('presence over the polling transport (format: %s)', (_name, format) => {
  let hub: TestHub | undefined;
  const clients: HeraldClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await hub?.close();
    hub = undefined;
  });

  it('is a member while it polls, receives joins and leaves like WebSocket and SSE, and leaves when closed', async () => {
    hub = await startTestHub({ pollPresenceGrace: 1 });
    const c = createClient({ url: hub.url, transports: ['polling'], ...(format && { format }), pollWait: 5 });
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

  it('stays the same member when the connection is lost and comes back', async () => {
    hub = await startTestHub({ pollPresenceGrace: 30 });
    const watcher = await WsTestClient.connect(hub.wsUrl);
    await watcher.request({ type: 'subscribe', channel: 'blip', joinLeave: true });
    let failNext = false;
    const polls: string[] = [];
    const c = createClient({
      url: hub.url,
      transports: ['polling'],
      ...(format && { format }),
      pollWait: 1,
      reconnect: { minDelay: 20, maxDelay: 50 },
      fetch: async (input, init) => {
        const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
        if (url.includes('/api/messages') && url.includes('wait=')) {
          polls.push(new URL(url).searchParams.get('session')!);
          if (failNext) {
            failNext = false;
            throw new TypeError('fetch failed');
          }
        }
        return fetch(input, init);
      },
    });
    clients.push(c);
    const states: string[] = [];
    c.on('state', (s) => states.push(s));
    const sub = c.subscribe('blip');
    await new Promise<void>((resolve) => sub.on('state', (s) => s === 'subscribed' && resolve()));
    await watcher.frames.until((fs) => fs.filter((f) => f.type === 'join').length === 2, 'the poller joins');
    await expect.poll(() => polls.filter((p) => p !== 'new').length, { timeout: 5000 }).toBeGreaterThan(0);
    failNext = true;
    await expect.poll(() => states.includes('reconnecting'), { timeout: 5000 }).toBe(true);
    await expect.poll(() => c.state, { timeout: 5000 }).toBe('connected');
    const before = polls.length;
    await expect.poll(() => polls.length, { timeout: 5000 }).toBeGreaterThan(before + 1);
    // One session throughout: asked for once, sent back on every later poll, across the reconnect.
    expect(polls.filter((p) => p === 'new')).toHaveLength(1);
    expect(new Set(polls.filter((p) => p !== 'new')).size).toBe(1);
    expect((await hub.server.hub.presence('blip')).length).toBe(2); // the watcher and the poller
    expect(watcher.frames.items.filter((f) => f.type === 'join' || f.type === 'leave').map((f) => f.type)).toEqual(['join', 'join']);
    await watcher.close();
  });

  it('delivers joins and leaves between the messages they came between, within one answer', async () => {
    hub = await startTestHub();
    let gate: Promise<void> | undefined;
    let open: (() => void) | undefined;
    const c = createClient({
      url: hub.url,
      transports: ['polling'],
      ...(format && { format }),
      pollWait: 5,
      fetch: async (input, init) => {
        const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
        if (url.includes('/api/messages') && url.includes('wait=') && gate !== undefined) await gate;
        return fetch(input, init);
      },
    });
    clients.push(c);
    const log: string[] = [];
    const sub = c.subscribe('mix', (m) => log.push(`message ${String(m.data)}`), { joinLeave: true });
    sub.on('presence', (p) => log.push(p.type));
    await expect.poll(() => log.length, { timeout: 5000 }).toBe(1); // its own join
    // Hold the client's next poll while a message, a join, a message and a leave happen.
    gate = new Promise<void>((resolve) => (open = resolve));
    await hub.server.hub.publish('mix', 'a');
    const ws = await WsTestClient.connect(hub.wsUrl);
    await ws.request({ type: 'subscribe', channel: 'mix' });
    await hub.server.hub.publish('mix', 'b');
    await ws.close();
    await expect.poll(async () => (await hub!.server.hub.presence('mix')).length, { timeout: 5000 }).toBe(1);
    await hub.server.hub.publish('mix', 'c');
    gate = undefined;
    open!();
    await expect.poll(() => log.length, { timeout: 10_000 }).toBe(6);
    expect(log).toEqual(['join', 'message a', 'join', 'message b', 'leave', 'message c']);
  });
});
