import { Permissions } from '@herald/server';
import { SseTestClient, startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { next, pushes, rebuild, states, waitPushes } from './delta-fixture.js';

let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

describe('delta pushes', () => {
  it('WebSocket: the first message in full, then deltas that rebuild exactly the published data', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'] });
    const ws = await WsTestClient.connect(hub.wsUrl);
    const reply = await ws.request({ type: 'subscribe', channel: 'dash:prod', delta: true });
    expect(reply.delta).toBe(true);
    const published = states(20);
    for (const data of published) await hub.server.hub.publish('dash:prod', data);
    const got = await waitPushes(ws, 20);
    expect(got[0].type).toBe('message');
    expect(got.slice(1).every((f) => f.type === 'delta')).toBe(true);
    expect(Object.keys(got[1]).sort()).toEqual(['channel', 'delta', 'epoch', 'offset', 'time', 'type']);
    expect(rebuild(got)).toEqual(published);
    await ws.close();
  });

  it('sends full messages to a client that did not ask, and on a namespace without deltas', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'] });
    const plain = await WsTestClient.connect(hub.wsUrl);
    expect((await plain.request({ type: 'subscribe', channel: 'dash:prod' })).delta).toBeUndefined();
    const other = await WsTestClient.connect(hub.wsUrl);
    expect((await other.request({ type: 'subscribe', channel: 'chat:prod', delta: true })).delta).toBeUndefined();
    const published = states(6);
    for (const data of published) {
      await hub.server.hub.publish('dash:prod', data);
      await hub.server.hub.publish('chat:prod', data);
    }
    const a = await waitPushes(plain, 6);
    const b = await waitPushes(other, 6);
    for (const frames of [a, b]) {
      expect(frames.map((f) => f.type)).toEqual(Array(6).fill('message'));
      expect(frames.map((f) => f.data)).toEqual(published);
    }
    await Promise.all([plain.close(), other.close()]);
  });

  it('sends a full message when the delta would not be shorter (a small payload changing entirely)', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'] });
    const ws = await WsTestClient.connect(hub.wsUrl);
    await ws.request({ type: 'subscribe', channel: 'dash:small', delta: true });
    for (const data of ['a', 'b', 'c']) await hub.server.hub.publish('dash:small', data);
    expect((await waitPushes(ws, 3)).map((f) => f.type)).toEqual(['message', 'message', 'message']);
    await ws.close();
  });

  it('a client that may not read history gets deltas with their signed cursor', async () => {
    hub = await startTestHub({
      deltaNamespaces: ['dash'],
      security: {
        apiKeys: ['delta-test-api-key-0123456789'],
        permissions: new Permissions({ dash: { subscribe: 'anonymous', publish: 'none', history: 'none', presence: 'none' } }),
      },
    });
    const ws = await WsTestClient.connect(hub.wsUrl);
    await ws.request({ type: 'subscribe', channel: 'dash:s', delta: true });
    const published = states(4);
    for (const data of published) await hub.server.hub.publish('dash:s', data);
    const got = await waitPushes(ws, 4);
    expect(got.map((f) => f.type)).toEqual(['message', 'delta', 'delta', 'delta']);
    for (const frame of got) expect(frame.cursor).toMatch(/^c1\./);
    expect(rebuild(got)).toEqual(published);
    // The signed cursor of a delta resumes like any other (full message next).
    const again = await WsTestClient.connect(hub.wsUrl);
    await again.request({ type: 'subscribe', channel: 'dash:s', delta: true, since: got[2].cursor });
    await hub.server.hub.publish('dash:s', next(published.at(-1), 99));
    const resumed = await waitPushes(again, 2);
    expect(resumed.map((f) => [f.offset, f.type])).toEqual([
      [4, 'message'],
      [5, 'delta'],
    ]);
    expect(resumed[1].cursor).toMatch(/^c1\./);
    await Promise.all([ws.close(), again.close()]);
  });

  it('keeps at most the previous message per delta channel (no chain of bases)', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'] });
    const got: { message: any; delta: boolean | undefined }[] = [];
    const subscriber = {
      client: 'test',
      user: null,
      message: (message: any, _replay: boolean, _signed: boolean, delta?: boolean) => got.push({ message, delta }),
      gap: () => undefined,
      presence: () => undefined,
    };
    const outcome = await hub.server.hub.subscribe(subscriber, 'dash:chain', { delta: true });
    outcome.start();
    const published = states(5);
    for (const data of published) await hub.server.hub.publish('dash:chain', data);
    await expect.poll(() => got.length).toBe(5);
    expect(got.map((g) => g.delta)).toEqual([false, true, true, true, true]);
    for (const { message } of got.slice(0, -2)) expect(message.base).toBeUndefined();
    expect(got[4]!.message.base).toBe(got[3]!.message);
    expect(got[3]!.message.base).toBeUndefined();
  });

  it('refuses a delta field that is not a boolean', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'] });
    const ws = await WsTestClient.connect(hub.wsUrl);
    expect((await ws.request({ type: 'subscribe', channel: 'dash:a', delta: 'yes' })).error).toEqual({
      code: 1005,
      message: 'delta must be a boolean',
    });
    await ws.close();
  });

  it('SSE: delta events (same id as the full event would have) after the first message, with delta=1 only', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'] });
    const sse = await SseTestClient.connect(`${hub.url}/events?channel=dash:e&delta=1`);
    const plain = await SseTestClient.connect(`${hub.url}/events?channel=dash:e`);
    await Promise.all([sse.ready(), plain.ready()]);
    const published = states(8);
    for (const data of published) await hub.server.hub.publish('dash:e', data);
    await sse.waitForMessages(8);
    await plain.waitForMessages(8);
    const frames = sse.events.items.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data));
    expect(frames.map((f) => f.type)).toEqual(['message', ...Array(7).fill('delta')]);
    expect(rebuild(frames)).toEqual(published);
    expect(sse.events.items.map((e) => e.id)).toEqual(plain.events.items.map((e) => e.id));
    expect(plain.messages().map((m) => m.type)).toEqual(Array(8).fill('message'));
    const wire = (c: SseTestClient): number => c.events.items.reduce((n, e) => n + Buffer.byteLength(e.data), 0);
    expect(wire(sse)).toBeLessThan(wire(plain) / 4);
    await Promise.all([sse.close(), plain.close()]);
  });

  it('SSE with several channels: each channel gets its own deltas, the stream id covers them all', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'] });
    const sse = await SseTestClient.connect(`${hub.url}/events?channel=dash:m1&channel=dash:m2&channel=chat:m3&delta=true`);
    await sse.ready();
    const published = states(5);
    for (const data of published) for (const channel of ['dash:m1', 'dash:m2', 'chat:m3']) await hub.server.hub.publish(channel, data);
    await sse.waitForMessages(15);
    const frames = sse.events.items.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data));
    for (const channel of ['dash:m1', 'dash:m2']) {
      const mine = frames.filter((f) => f.channel === channel);
      expect(mine.map((f) => f.type)).toEqual(['message', 'delta', 'delta', 'delta', 'delta']);
      expect(rebuild(mine)).toEqual(published);
    }
    expect(frames.filter((f) => f.channel === 'chat:m3').map((f) => f.type)).toEqual(Array(5).fill('message'));
    expect(sse.events.items.at(-1)!.id).toMatch(/^c1\./);
    await sse.close();
  });

  it('polling: a delta only for a client that holds the base (base=<offset>), later items against the one before', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'], historySize: 100 });
    const url = hub.url;
    const published = states(6);
    await hub.server.hub.publish('dash:p', published[0]);
    const first = (await (await fetch(`${url}/api/messages?channel=dash:p&delta=1`)).json()) as any;
    expect(first.messages.map((m: any) => m.type)).toEqual(['message']);
    // A held poll from the position it holds is woken by the next message: a delta, shared by every such poll.
    const held = (base: string): Promise<any> =>
      fetch(`${url}/api/messages?channel=dash:p&delta=1&wait=5&since=${first.cursor}${base}`).then((r) => r.json());
    const polls = [held('&base=1'), held('&base=1'), held('')];
    await new Promise((resolve) => setTimeout(resolve, 100));
    await hub.server.hub.publish('dash:p', published[1]);
    const [a, b, without] = await Promise.all(polls);
    expect(a.messages[0].type).toBe('delta');
    expect(b.messages[0].delta).toBe(a.messages[0].delta);
    expect(without.messages[0].type).toBe('message');
    expect(rebuild([first.messages[0], a.messages[0]])).toEqual(published.slice(0, 2));
    // A poll that finds several messages waiting: each a delta against the item before it, the first
    // against the message the client holds (base=2: the hub answered a poll with it, so has it at hand).
    const listener = await WsTestClient.connect(hub.wsUrl);
    await listener.request({ type: 'subscribe', channel: 'dash:p', delta: true });
    for (const data of published.slice(2)) await hub.server.hub.publish('dash:p', data);
    await waitPushes(listener, 4);
    const rest = (await (await fetch(`${url}/api/messages?channel=dash:p&delta=1&since=${a.cursor}&base=2`)).json()) as any;
    expect(rest.messages.map((m: any) => m.offset)).toEqual([3, 4, 5, 6]);
    expect(rest.messages.map((m: any) => m.type)).toEqual(['delta', 'delta', 'delta', 'delta']);
    expect(rebuild([first.messages[0], a.messages[0], ...rest.messages])).toEqual(published);
    // A base other than the cursor's offset is ignored: the first item goes in full.
    const wrong = (await (await fetch(`${url}/api/messages?channel=dash:p&delta=1&since=${a.cursor}&base=1`)).json()) as any;
    expect(wrong.messages.map((m: any) => m.type)).toEqual(['message', 'delta', 'delta', 'delta']);
    expect(rebuild(wrong.messages)).toEqual(published.slice(2));
    // Without delta=1, never a delta.
    const none = (await (await fetch(`${url}/api/messages?channel=dash:p&since=${a.cursor}&base=2`)).json()) as any;
    expect(none.messages.every((m: any) => m.type === 'message')).toBe(true);
    await listener.close();
  });

  it('takes fewer bytes on the wire than full messages for dashboard updates', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'] });
    const withDelta = await WsTestClient.connect(hub.wsUrl);
    const without = await WsTestClient.connect(hub.wsUrl);
    await withDelta.request({ type: 'subscribe', channel: 'dash:bytes', delta: true });
    await without.request({ type: 'subscribe', channel: 'dash:bytes' });
    const bytes = { delta: 0, full: 0 };
    withDelta.socket.on('message', (data: Buffer) => (bytes.delta += data.length));
    without.socket.on('message', (data: Buffer) => (bytes.full += data.length));
    const published = states(60);
    for (const data of published) await hub.server.hub.publish('dash:bytes', data);
    await waitPushes(withDelta, 60);
    await waitPushes(without, 60);
    expect(rebuild(pushes(withDelta))).toEqual(published);
    // The first message goes in full to both; the other 59 are deltas of a few numbers each.
    expect(bytes.delta).toBeLessThan(bytes.full / 5);
    await Promise.all([withDelta.close(), without.close()]);
  });
});

// The same on every WebSocket format (delta-compact.test.ts checks the compact items themselves).
describe.each(['json', 'compact', 'msgpack'] as const)('delta pushes on the WebSocket (herald.%s)', (format) => {
  it('a subscriber that joins late gets a full message first while an earlier one gets deltas', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'] });
    const early = await WsTestClient.connect(hub.wsUrl, undefined, format);
    await early.request({ type: 'subscribe', channel: 'dash:x', delta: true });
    const published = states(8);
    for (const data of published.slice(0, 4)) await hub.server.hub.publish('dash:x', data);
    await waitPushes(early, 4);
    const late = await WsTestClient.connect(hub.wsUrl, undefined, format);
    await late.request({ type: 'subscribe', channel: 'dash:x', delta: true });
    for (const data of published.slice(4)) await hub.server.hub.publish('dash:x', data);
    const e = await waitPushes(early, 8);
    const l = await waitPushes(late, 4);
    expect(e.map((f) => f.type)).toEqual(['message', ...Array(7).fill('delta')]);
    expect(l.map((f) => f.type)).toEqual(['message', 'delta', 'delta', 'delta']);
    // The two subscribers of offset 6 have different histories but share the one delta built for it.
    expect(l[1].delta).toBe(e[5].delta);
    expect(rebuild(e)).toEqual(published);
    expect(rebuild(l)).toEqual(published.slice(4));
    await Promise.all([early.close(), late.close()]);
  });

  it('a resume gets the replay in full, then deltas', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'], historySize: 100 });
    const published = states(10);
    for (const data of published.slice(0, 6)) await hub.server.hub.publish('dash:r', data);
    const { epoch } = await hub.server.hub.position('dash:r');
    const ws = await WsTestClient.connect(hub.wsUrl, undefined, format);
    await ws.request({ type: 'subscribe', channel: 'dash:r', delta: true, since: { epoch, offset: 3 } });
    await waitPushes(ws, 3);
    for (const data of published.slice(6)) await hub.server.hub.publish('dash:r', data);
    const got = await waitPushes(ws, 7);
    expect(got.map((f) => [f.offset, f.type])).toEqual([
      [4, 'message'],
      [5, 'message'],
      [6, 'message'],
      [7, 'delta'],
      [8, 'delta'],
      [9, 'delta'],
      [10, 'delta'],
    ]);
    expect(rebuild(got)).toEqual(published.slice(3));
    await ws.close();
  });
});
