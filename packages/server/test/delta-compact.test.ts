import { decode } from '@msgpack/msgpack';
import { Permissions } from '@herald/server';
import { CompactExpander, SseTestClient, startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { pushes, rebuild, states, waitPushes } from './delta-fixture.js';

/** The compact arrays a WebSocket client received, as sent (MessagePack decoded). */
const rawItems = (client: WsTestClient): unknown[][] =>
  client.raw
    .map((frame) => (frame.binary ? decode(frame.bytes) : JSON.parse(frame.bytes.toString('utf8'))))
    .filter((value): value is unknown[] => Array.isArray(value));

let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

describe.each(['compact', 'msgpack'] as const)('compact delta pushes on the WebSocket (herald.%s)', (format) => {
  it('the first message in full, then `-ref-1` items carrying the JSON delta string, rebuilding the data exactly', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'] });
    const json = await WsTestClient.connect(hub.wsUrl);
    const ws = await WsTestClient.connect(hub.wsUrl, undefined, format);
    // A second channel first, so the dashboard's ref is 1 (its delta items carry -2).
    await ws.request({ type: 'subscribe', channel: 'chat:other' });
    const reply = await ws.request({ type: 'subscribe', channel: 'dash:prod', delta: true });
    expect(reply).toMatchObject({ ref: 1, delta: true });
    await json.request({ type: 'subscribe', channel: 'dash:prod', delta: true });
    const published = states(20);
    for (const data of published) await hub.server.hub.publish('dash:prod', data);
    const got = await waitPushes(ws, 20);
    const plain = await waitPushes(json, 20);
    expect(got.map((f) => f.type)).toEqual(['message', ...Array(19).fill('delta')]);
    expect(rebuild(got)).toEqual(published);
    // On the wire: [-ref-1, offset, time, delta], the same delta string the JSON push carries; no epoch (unchanged).
    const items = rawItems(ws);
    expect(items[0]![0]).toBe(1);
    for (let i = 1; i < 20; i++) expect(items[i]).toEqual([-2, plain[i].offset, plain[i].time, plain[i].delta]);
    if (format === 'msgpack') expect(ws.raw.every((f) => f.binary)).toBe(true);
    await Promise.all([ws.close(), json.close()]);
  });

  it('sends full messages without `delta: true` and on a namespace without deltas', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'] });
    const plain = await WsTestClient.connect(hub.wsUrl, undefined, format);
    expect((await plain.request({ type: 'subscribe', channel: 'dash:prod' })).delta).toBeUndefined();
    const other = await WsTestClient.connect(hub.wsUrl, undefined, format);
    expect((await other.request({ type: 'subscribe', channel: 'chat:prod', delta: true })).delta).toBeUndefined();
    const published = states(6);
    for (const data of published) {
      await hub.server.hub.publish('dash:prod', data);
      await hub.server.hub.publish('chat:prod', data);
    }
    for (const client of [plain, other]) {
      const frames = await waitPushes(client, 6);
      expect(frames.map((f) => f.type)).toEqual(Array(6).fill('message'));
      expect(frames.map((f) => f.data)).toEqual(published);
      expect(rawItems(client).every((item) => (item[0] as number) >= 0)).toBe(true);
    }
    await Promise.all([plain.close(), other.close()]);
  });

  it('a client that may not read history gets `[-ref-1, offset, time, delta, null, cursor]` with the signed cursor', async () => {
    hub = await startTestHub({
      deltaNamespaces: ['dash'],
      security: {
        apiKeys: ['delta-test-api-key-0123456789'],
        permissions: new Permissions({ dash: { subscribe: 'anonymous', publish: 'none', history: 'none', presence: 'none' } }),
      },
    });
    const json = await WsTestClient.connect(hub.wsUrl);
    const ws = await WsTestClient.connect(hub.wsUrl, undefined, format);
    for (const client of [json, ws]) await client.request({ type: 'subscribe', channel: 'dash:s', delta: true });
    const published = states(4);
    for (const data of published) await hub.server.hub.publish('dash:s', data);
    const got = await waitPushes(ws, 4);
    const plain = await waitPushes(json, 4);
    expect(got.map((f) => f.type)).toEqual(['message', 'delta', 'delta', 'delta']);
    expect(rebuild(got)).toEqual(published);
    const items = rawItems(ws);
    for (let i = 1; i < 4; i++) expect(items[i]).toEqual([-1, plain[i].offset, plain[i].time, plain[i].delta, null, plain[i].cursor]);
    expect(plain[3].cursor).toMatch(/^c1\./);
    await Promise.all([ws.close(), json.close()]);
  });

  it('takes fewer bytes than full compact pushes for dashboard updates', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'] });
    const withDelta = await WsTestClient.connect(hub.wsUrl, undefined, format);
    const without = await WsTestClient.connect(hub.wsUrl, undefined, format);
    await withDelta.request({ type: 'subscribe', channel: 'dash:bytes', delta: true });
    await without.request({ type: 'subscribe', channel: 'dash:bytes' });
    const published = states(60);
    for (const data of published) await hub.server.hub.publish('dash:bytes', data);
    await waitPushes(withDelta, 60);
    await waitPushes(without, 60);
    expect(rebuild(pushes(withDelta))).toEqual(published);
    const bytes = (c: WsTestClient): number => c.raw.reduce((n, f) => n + f.bytes.length, 0);
    expect(bytes(withDelta)).toBeLessThan(bytes(without) / 5);
    await Promise.all([withDelta.close(), without.close()]);
  });
});

describe('compact delta items over SSE (format=compact)', () => {
  it('`data:` holds the compact delta item after the first message; delta=1 only', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'] });
    const sse = await SseTestClient.connect(`${hub.url}/events?channel=chat:a&channel=dash:e&delta=1&format=compact`);
    const plain = await SseTestClient.connect(`${hub.url}/events?channel=dash:e&format=compact`);
    await Promise.all([sse.ready(), plain.ready()]);
    const published = states(8);
    for (const data of published) await hub.server.hub.publish('dash:e', data);
    const frames = await sse.waitForMessages(8);
    expect(frames.map((f) => f.type)).toEqual(['message', ...Array(7).fill('delta')]);
    expect(rebuild(frames)).toEqual(published);
    // The channel is the request's second (ref 1): its delta items start with -2.
    const raw = sse.events.items.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data));
    expect(raw[1]).toEqual([-2, 2, frames[1].time, frames[1].delta]);
    expect((await plain.waitForMessages(8)).map((m) => m.type)).toEqual(Array(8).fill('message'));
    await Promise.all([sse.close(), plain.close()]);
  });

  it('a late stream gets a full message first; a resumed one its replay in full, then deltas', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'], historySize: 100 });
    const early = await SseTestClient.connect(`${hub.url}/events?channel=dash:l&delta=1&format=compact`);
    await early.ready();
    const published = states(8);
    for (const data of published.slice(0, 4)) await hub.server.hub.publish('dash:l', data);
    await early.waitForMessages(4);
    const { epoch } = await hub.server.hub.position('dash:l');
    const cursor = (await (await fetch(`${hub.url}/api/messages?channel=dash:l&limit=2`)).json()) as any;
    const late = await SseTestClient.connect(`${hub.url}/events?channel=dash:l&delta=1&format=compact`);
    const resumed = await SseTestClient.connect(`${hub.url}/events?channel=dash:l&delta=1&format=compact&since=${cursor.cursor}`);
    await Promise.all([late.ready(), resumed.ready()]);
    await resumed.waitForMessages(2);
    for (const data of published.slice(4)) await hub.server.hub.publish('dash:l', data);
    const e = await early.waitForMessages(8);
    const l = await late.waitForMessages(4);
    const r = await resumed.waitForMessages(6);
    expect(e.map((f) => f.type)).toEqual(['message', ...Array(7).fill('delta')]);
    expect(l.map((f) => f.type)).toEqual(['message', 'delta', 'delta', 'delta']);
    expect(r.map((f) => [f.offset, f.type])).toEqual([
      [3, 'message'],
      [4, 'message'],
      [5, 'delta'],
      [6, 'delta'],
      [7, 'delta'],
      [8, 'delta'],
    ]);
    expect(r.every((f) => f.epoch === epoch)).toBe(true);
    expect(rebuild(e)).toEqual(published);
    expect(rebuild(l)).toEqual(published.slice(4));
    expect(rebuild(r)).toEqual(published.slice(2));
    await Promise.all([early.close(), late.close(), resumed.close()]);
  });
});

describe('compact delta items over polling (format=compact)', () => {
  /** A poll answer's items as envelopes and delta pushes (`channels` in request order). */
  function expand(answer: any, channels: string[], since?: string): any[] {
    const expander = new CompactExpander();
    channels.forEach((channel, i) => expander.bind(i, channel));
    if (since !== undefined) expander.toldCursor(since);
    return answer.messages.map((item: unknown[]) => expander.expand(item));
  }

  it('a delta item only for a client that holds the base, later items against the one before; none without delta=1', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'], historySize: 100 });
    const url = hub.url;
    const published = states(6);
    await hub.server.hub.publish('dash:p', published[0]);
    const first = (await (await fetch(`${url}/api/messages?channel=dash:p&delta=1&format=compact`)).json()) as any;
    const firstItems = expand(first, ['dash:p']);
    expect(firstItems.map((m) => m.type)).toEqual(['message']);
    const held = (base: string): Promise<any> =>
      fetch(`${url}/api/messages?channel=dash:p&delta=1&format=compact&wait=5&since=${first.cursor}${base}`).then((r) => r.json());
    const polls = [held('&base=1'), held('&base=1'), held('')];
    await new Promise((resolve) => setTimeout(resolve, 100));
    await hub.server.hub.publish('dash:p', published[1]);
    const [a, b, without] = await Promise.all(polls);
    expect(a.messages[0][0]).toBe(-1);
    expect(typeof a.messages[0][3]).toBe('string');
    expect(b.messages[0]).toEqual(a.messages[0]);
    expect(without.messages[0][0]).toBe(0);
    const aItems = expand(a, ['dash:p'], first.cursor);
    expect(rebuild([...firstItems, ...aItems])).toEqual(published.slice(0, 2));
    // Several messages waiting: each a delta against the item before, the first against the base the client holds.
    const listener = await WsTestClient.connect(hub.wsUrl, undefined, 'compact');
    await listener.request({ type: 'subscribe', channel: 'dash:p', delta: true });
    for (const data of published.slice(2)) await hub.server.hub.publish('dash:p', data);
    await waitPushes(listener, 4);
    const rest = (await (await fetch(`${url}/api/messages?channel=dash:p&delta=1&format=compact&since=${a.cursor}&base=2`)).json()) as any;
    const restItems = expand(rest, ['dash:p'], a.cursor);
    expect(restItems.map((m) => [m.offset, m.type])).toEqual([
      [3, 'delta'],
      [4, 'delta'],
      [5, 'delta'],
      [6, 'delta'],
    ]);
    expect(rebuild([...firstItems, ...aItems, ...restItems])).toEqual(published);
    const none = (await (await fetch(`${url}/api/messages?channel=dash:p&format=compact&since=${a.cursor}&base=2`)).json()) as any;
    expect(none.messages.every((item: unknown[]) => (item[0] as number) >= 0)).toBe(true);
    await listener.close();
  });
});
