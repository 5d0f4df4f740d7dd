import { SseTestClient, startTestHub, WS_FORMATS, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// Runs in every WebSocket frame format (JSON, herald.compact, herald.msgpack).
describe.each(WS_FORMATS)('presence (WebSocket frames: %s): who is subscribed, with join and leave notifications', (format) => {
  let hub: TestHub;
  beforeEach(async () => {
    hub = await startTestHub();
  });
  afterEach(async () => {
    await hub.close();
  });

  it('lists WebSocket and SSE subscribers and notifies joinLeave subscribers of joins and leaves', async () => {
    const watcher = await WsTestClient.connect(hub.wsUrl, undefined, format);
    await watcher.request({ type: 'subscribe', channel: 'room', joinLeave: true });
    const self = await watcher.frames.until((fs) => fs.some((f) => f.type === 'join'), 'own join');
    const watcherId = self.find((f) => f.type === 'join').member.client as string;
    expect(watcherId).toEqual(expect.any(String));

    const other = await WsTestClient.connect(hub.wsUrl, undefined, format);
    await other.request({ type: 'subscribe', channel: 'room' });
    const sse = await SseTestClient.connect(`${hub.url}/events?channel=room`);
    await sse.ready();
    const joins = await watcher.frames.until((fs) => fs.filter((f) => f.type === 'join').length >= 3, 'three joins');
    const members = joins.filter((f) => f.type === 'join').map((f) => f.member);
    expect(members.every((m) => m.user === null)).toBe(true);
    expect(new Set(members.map((m) => m.client)).size).toBe(3);

    const listed = await other.request({ type: 'presence', channel: 'room' });
    expect(listed.members.map((m: any) => m.client).sort()).toEqual(members.map((m) => m.client).sort());
    expect((await other.request({ type: 'presence', channel: 'empty' })).members).toEqual([]);

    await other.close();
    await sse.close();
    const leaves = await watcher.frames.until((fs) => fs.filter((f) => f.type === 'leave').length >= 2, 'two leaves');
    const left = leaves.filter((f) => f.type === 'leave').map((f) => f.member.client);
    expect(left.sort()).toEqual(
      members
        .filter((m) => m.client !== watcherId)
        .map((m) => m.client)
        .sort(),
    );
    const after = await watcher.request({ type: 'presence', channel: 'room' });
    expect(after.members).toEqual([{ client: watcherId, user: null }]);

    await watcher.request({ type: 'unsubscribe', channel: 'room' });
    const probe = await WsTestClient.connect(hub.wsUrl, undefined, format);
    expect((await probe.request({ type: 'presence', channel: 'room' })).members).toEqual([]);
    await probe.close();
    await watcher.close();
  });

  it('sends no join or leave frames to subscriptions that did not ask for them', async () => {
    const quiet = await WsTestClient.connect(hub.wsUrl, undefined, format);
    await quiet.request({ type: 'subscribe', channel: 'lobby' });
    const other = await WsTestClient.connect(hub.wsUrl, undefined, format);
    await other.request({ type: 'subscribe', channel: 'lobby' });
    await other.close();
    await hub.server.hub.publish('lobby', 'after');
    await quiet.waitForMessages(1);
    expect(quiet.frames.items.filter((f) => f.type === 'join' || f.type === 'leave')).toEqual([]);
    await quiet.close();
  });

  it('answers GET /api/presence and sends join/leave events on an SSE stream that asks for them', async () => {
    const sse = await SseTestClient.connect(`${hub.url}/events?channel=hall&joinLeave=1`);
    await sse.ready();
    const ws = await WsTestClient.connect(hub.wsUrl, undefined, format);
    await ws.request({ type: 'subscribe', channel: 'hall' });
    await sse.events.until((es) => es.filter((e) => e.event === 'join').length >= 2, 'two joins');
    const res = await fetch(`${hub.url}/api/presence?channel=hall`);
    const body = (await res.json()) as { channel: string; members: { client: string }[] };
    expect(body.channel).toBe('hall');
    expect(body.members).toHaveLength(2);
    await ws.close();
    const leaves = await sse.events.until((es) => es.some((e) => e.event === 'leave'), 'a leave');
    expect(JSON.parse(leaves.find((e) => e.event === 'leave')!.data)).toMatchObject({
      type: 'leave',
      channel: 'hall',
      member: { user: null },
    });
    expect((await fetch(`${hub.url}/api/presence?channel=a%20b`)).status).toBe(400);
    await sse.close();
  });
});
