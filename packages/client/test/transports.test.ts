import { createClient, type HeraldClient, type TransportName, type Envelope, type Gap } from '@herald/client/node';
import { startTestHub, type TestHub, Collector, eventually } from '@herald/testkit';
import { compact } from '@herald/client/compact';
import { msgpack } from '@herald/client/msgpack';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

const FORMATS = { json: undefined, compact, msgpack };
type FormatName = keyof typeof FORMATS;
// Every transport in every frame format it speaks (MessagePack on the WebSocket only).
const CASES: [TransportName, FormatName][] = [
  ['websocket', 'json'],
  ['websocket', 'compact'],
  ['websocket', 'msgpack'],
  ['sse', 'json'],
  ['sse', 'compact'],
  ['polling', 'json'],
  ['polling', 'compact'],
];

/** The subprotocol of every socket the client opened (the `ws` class it is given records them). */
const protocols: string[] = [];
class RecordingWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    this.once('open', () => protocols.push(this.protocol));
  }
}

describe.each(CASES)('the same subscription suite, forced onto %s, frames: %s', (transport, formatName) => {
  const format = FORMATS[formatName];
  let hub: TestHub;
  const clients: HeraldClient[] = [];
  const client = (options: Partial<Parameters<typeof createClient>[0]> = {}): HeraldClient => {
    const c = createClient({
      url: hub.url,
      transports: [transport],
      pollWait: 5,
      reconnect: { minDelay: 20, maxDelay: 100 },
      WebSocket: RecordingWebSocket,
      ...(format && { format }),
      ...options,
    });
    clients.push(c);
    return c;
  };
  beforeEach(async () => {
    hub = await startTestHub({ historySize: 100 });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await hub.close();
  });

  it('receives live messages in order, on the forced transport', async () => {
    const c = client();
    const got = new Collector<Envelope>();
    const sub = c.subscribe('live', (m) => got.push(m));
    await new Promise<void>((resolve) => sub.on('state', (s) => s === 'subscribed' && resolve()));
    expect(c.transport).toBe(transport);
    expect(c.state).toBe('connected');
    for (let i = 1; i <= 20; i++) await hub.server.hub.publish('live', { i });
    await got.count(20);
    expect(got.items.map((m) => m.offset)).toEqual(range(1, 20));
    // The same envelope in every format: nothing missing, nothing added.
    expect(got.items[0]).toEqual({
      type: 'message',
      channel: 'live',
      offset: 1,
      epoch: expect.any(String),
      time: expect.any(Number),
      data: { i: 1 },
    });
    if (transport === 'websocket') expect(protocols.at(-1)).toBe(format?.protocol ?? '');
  });

  it('publishes with a reply carrying the stored position, and the message comes back', async () => {
    const c = client();
    const got = new Collector<Envelope>();
    const sub = c.subscribe('echo', (m) => got.push(m));
    await new Promise<void>((resolve) => sub.on('state', (s) => s === 'subscribed' && resolve()));
    const reply = await sub.publish({ hello: 'world' });
    // The same result shape on every transport.
    expect(reply).toEqual({ channel: 'echo', offset: 1, epoch: expect.any(String) });
    await got.count(1);
    expect(got.items[0]!.data).toEqual({ hello: 'world' });
    await expect(c.publish('bad channel', 1)).rejects.toMatchObject({ code: 1003 });
  });

  it('reads history and presence', async () => {
    for (let i = 1; i <= 5; i++) await hub.server.hub.publish('hist', i);
    const c = client();
    const sub = c.subscribe('hist');
    await new Promise<void>((resolve) => sub.on('state', (s) => s === 'subscribed' && resolve()));
    const page = await sub.history({ limit: 3 });
    expect(page.messages.map((m) => m.data)).toEqual([1, 2, 3]);
    expect(page.more).toBe(true);
    expect(Object.keys(page).sort()).toEqual(['cursor', 'messages', 'more']);
    const rest = await sub.history({ since: page.cursor });
    expect(Object.keys(rest).sort()).toEqual(['cursor', 'messages']);
    expect(rest.messages.map((m) => m.data)).toEqual([4, 5]);
    const members = await sub.presence();
    // A polling client is a member too (while it polls).
    expect(members).toHaveLength(1);
  });

  it('resumes from a given position, and after the connection drops, with no loss and no duplicates', async () => {
    for (let i = 1; i <= 10; i++) await hub.server.hub.publish('res', i);
    const { epoch } = await hub.server.hub.position('res');
    const c = client();
    const got = new Collector<Envelope>();
    const states: string[] = [];
    c.on('state', (s) => states.push(s));
    c.subscribe('res', (m) => got.push(m), { since: { epoch, offset: 4 } });
    await got.count(6);
    // A poller loses its connection only when a poll is cut in flight: drop while the hub holds one.
    if (transport === 'polling') {
      await eventually(() => hub.server.stats().polling > 0, 'a poll held by the hub');
      hub.server.server.closeAllConnections();
    }
    hub.server.dropConnections();
    for (let i = 11; i <= 40; i++) await hub.server.hub.publish('res', i);
    await got.count(36);
    await hub.server.hub.publish('res', 41);
    await got.count(37);
    expect(got.items.map((m) => m.offset)).toEqual(range(5, 41));
    expect(states).toContain('reconnecting');
  });

  it('resumes a subscription from now that lost its connection before its first message', async () => {
    // A message stored well before subscribe() (the hub's clock moves on 10 s): not part of it.
    let skew = 0;
    await hub.close();
    hub = await startTestHub({ historySize: 100, clock: { now: () => Date.now() + skew } });
    await hub.server.hub.publish('fresh', 'old');
    skew = 10_000;
    const c = client();
    const got = new Collector<Envelope>();
    const sub = c.subscribe('fresh', (m) => got.push(m));
    await new Promise<void>((resolve) => sub.on('state', (s) => s === 'subscribed' && resolve()));
    hub.server.dropConnections();
    hub.server.server.closeAllConnections();
    for (let i = 1; i <= 3; i++) await hub.server.hub.publish('fresh', i);
    await got.count(3);
    expect(got.items.map((m) => m.data)).toEqual([1, 2, 3]);
  });

  it('reports a gap when the missed messages left the window', async () => {
    for (let i = 1; i <= 150; i++) await hub.server.hub.publish('gap', i);
    const { epoch } = await hub.server.hub.position('gap');
    const c = client();
    const got = new Collector<Envelope>();
    const gaps: Gap[] = [];
    const sub = c.subscribe('gap', (m) => got.push(m), { since: { epoch, offset: 10 } });
    sub.on('gap', (g) => gaps.push(g));
    await got.count(100);
    expect(gaps).toEqual([{ channel: 'gap', reason: 'window', requested: { epoch, offset: 10 }, resumed: { epoch, offset: 50 } }]);
    expect(got.items.map((m) => m.offset)).toEqual(range(51, 150));
  });

  it('fails a refused channel alone; the connection and the other channels carry on', async () => {
    const c = client();
    const errors = new Collector<{ code: unknown }>();
    const bad = c.subscribe('bad channel');
    bad.on('error', (e) => errors.push(e));
    const got = new Collector<Envelope>();
    const good = c.subscribe('good', (m) => got.push(m));
    await new Promise<void>((resolve) => good.on('state', (s) => s === 'subscribed' && resolve()));
    await errors.count(1);
    expect(errors.items[0]!.code).toBe(1003);
    expect(bad.state).toBe('unsubscribed');
    await hub.server.hub.publish('good', 'still here');
    await got.count(1);
    expect(c.state).toBe('connected');
  });

  it('stays closed after close(), even when asked to subscribe again', async () => {
    const c = client();
    const sub = c.subscribe('closing');
    await new Promise<void>((resolve) => sub.on('state', (s) => s === 'subscribed' && resolve()));
    c.close();
    expect(sub.state).toBe('unsubscribed');
    c.subscribe('closing');
    expect(c.state).toBe('closed');
    await expect(c.publish('closing', 1)).rejects.toMatchObject({ code: 'closed' });
  });

  it('asks for joins and leaves when a later subscription on the same channel wants them', async () => {
    const c = client();
    const plain = c.subscribe('room');
    await new Promise<void>((resolve) => plain.on('state', (s) => s === 'subscribed' && resolve()));
    const watching = c.subscribe('room', undefined, { joinLeave: true });
    const changes = new Collector<{ type: string }>();
    watching.on('presence', (p) => changes.push(p));
    await expect.poll(async () => (await hub.server.hub.presence('room')).length).toBe(1);
    const other = client({ transports: ['websocket'] });
    other.subscribe('room');
    await changes.until((cs) => cs.some((p) => p.type === 'join'), 'a join');
    // The re-subscription resumed from the channel's position: nothing repeated, nothing lost.
    await hub.server.hub.publish('room', 'once');
    const seen = new Collector<Envelope>();
    plain.on('message', (m) => seen.push(m));
    await seen.count(1);
    expect(seen.items.map((m) => m.data)).toEqual(['once']);
  });

  it('iterates with for await', async () => {
    const c = client();
    const sub = c.subscribe('iter');
    await new Promise<void>((resolve) => sub.on('state', (s) => s === 'subscribed' && resolve()));
    const seen: number[] = [];
    const reading = (async () => {
      for await (const m of sub) {
        seen.push(m.offset);
        if (seen.length === 3) break;
      }
    })();
    for (let i = 1; i <= 3; i++) await hub.server.hub.publish('iter', i);
    await reading;
    expect(seen).toEqual([1, 2, 3]);
    expect(sub.state).toBe('unsubscribed');
  });
});

describe('the format option', () => {
  it('refuses anything but the compact and msgpack formats of their entries', () => {
    for (const format of ['compact', 'msgpack', {}, { protocol: 'herald.compact' }]) {
      expect(() => createClient({ url: 'http://127.0.0.1:1', format: format as typeof compact })).toThrow(
        new TypeError('format must be compact or msgpack'),
      );
    }
    expect(() => createClient({ url: 'http://127.0.0.1:1', format: msgpack })).not.toThrow();
  });
});
