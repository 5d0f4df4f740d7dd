import { eventually, poll, publishHttp, RecordingSink, SseTestClient, startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

const membersOf = async (hub: TestHub, channel: string): Promise<string[]> => {
  const res = await fetch(`${hub.url}/api/presence?channel=${channel}`);
  const body = (await res.json()) as { members: { client: string }[] };
  return body.members.map((m) => m.client).sort();
};

describe('presence on polling: a polling session is a member while it polls', () => {
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
  });

  it('joins on the first poll, does not flap between polls, and leaves after the grace period', async () => {
    hub = await startTestHub({ pollPresenceGrace: 1 });
    const watcher = await WsTestClient.connect(hub.wsUrl);
    await watcher.request({ type: 'subscribe', channel: 'room', joinLeave: true });
    const first = await poll(hub.url, 'channel=room&since=now&session=new');
    expect(first.status).toBe(200);
    const token = first.body.session as string;
    expect(token).toMatch(/^p[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}$/);
    const client = token.split('.')[0]!;
    // Both ways of reading presence list it as soon as the first answer came.
    expect(await membersOf(hub, 'room')).toContain(client);
    const listed = await watcher.request({ type: 'presence', channel: 'room' });
    expect(listed.members).toContainEqual({ client, user: null });

    // Polls (short and held) 0.4 s apart for 2.5 s: one join, no leave.
    let cursor = first.body.cursor as string;
    const until = performance.now() + 2500;
    let held = false;
    while (performance.now() < until) {
      const next = await poll(hub.url, `channel=room&since=${cursor}&session=${token}${held ? '&wait=0.3' : ''}`);
      expect(next.status).toBe(200);
      expect(next.body.session).toBeUndefined();
      cursor = next.body.cursor;
      held = !held;
      if (!held) await new Promise((resolve) => setTimeout(resolve, 400));
    }
    const joinsAndLeaves = (): any[] =>
      watcher.frames.items.filter((f) => (f.type === 'join' || f.type === 'leave') && f.member.client === client);
    expect(joinsAndLeaves().map((f) => f.type)).toEqual(['join']);

    // Stops polling: gone within the grace period (and a sweep).
    await watcher.frames.until((fs) => fs.some((f) => f.type === 'leave' && f.member.client === client), 'the poller leaves');
    expect(await membersOf(hub, 'room')).not.toContain(client);
    expect(joinsAndLeaves().map((f) => f.type)).toEqual(['join', 'leave']);
    await watcher.close();
  });

  it('a held poll keeps its member past the grace period', async () => {
    hub = await startTestHub({ pollPresenceGrace: 1 });
    const first = await poll(hub.url, 'channel=hold&since=now&session=new');
    const client = (first.body.session as string).split('.')[0]!;
    const held = poll(hub.url, `channel=hold&since=${first.body.cursor}&session=${first.body.session}&wait=2.5`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(await membersOf(hub, 'hold')).toContain(client);
    expect((await held).body.messages).toEqual([]);
  });

  it('polls without session are not members and their answers are unchanged', async () => {
    hub = await startTestHub();
    await publishHttp(hub.url, 'plain', 1);
    const answer = await fetch(`${hub.url}/api/messages?channel=plain&joinLeave=1`);
    const text = await answer.text();
    expect(Object.keys(JSON.parse(text))).toEqual(['messages', 'cursor']);
    expect(await membersOf(hub, 'plain')).toEqual([]);
  });

  it('carries joins and leaves of WebSocket and SSE members in the answers, waking a held poll, in order with messages', async () => {
    hub = await startTestHub();
    const first = await poll(hub.url, 'channel=hall&since=now&session=new&joinLeave=1');
    const token = first.body.session as string;
    const self = token.split('.')[0]!;
    // Its own join comes first (as on SSE), in the first answer or the next.
    let answer =
      first.body.presence === undefined
        ? await poll(hub.url, `channel=hall&since=${first.body.cursor}&session=${token}&joinLeave=1&wait=5`)
        : first;
    expect(answer.body.presence).toEqual([{ type: 'join', channel: 'hall', member: { client: self, user: null }, offset: 0 }]);

    // A held poll with nothing to read is woken by a WebSocket client's join.
    const held = poll(hub.url, `channel=hall&since=${answer.body.cursor}&session=${token}&joinLeave=1&wait=20`);
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const ws = await WsTestClient.connect(hub.wsUrl);
    await ws.request({ type: 'subscribe', channel: 'hall' });
    answer = await held;
    expect(performance.now() - started).toBeLessThan(5000);
    expect(answer.body.messages).toEqual([]);
    expect(answer.body.presence).toEqual([
      { type: 'join', channel: 'hall', member: { client: expect.any(String), user: null }, offset: 0 },
    ]);
    const wsClient = answer.body.presence[0].member.client as string;

    // Between polls: a message, an SSE join, another message, the WebSocket leave. Kept, in order.
    await publishHttp(hub.url, 'hall', 'one');
    const sse = await SseTestClient.connect(`${hub.url}/events?channel=hall`);
    await sse.ready();
    await publishHttp(hub.url, 'hall', 'two');
    await ws.close();
    await eventually(async () => (await membersOf(hub!, 'hall')).length === 2, 'the WebSocket member left');
    answer = await poll(hub.url, `channel=hall&since=${answer.body.cursor}&session=${token}&joinLeave=1&wait=5`);
    expect(answer.body.messages.map((m: any) => m.data)).toEqual(['one', 'two']);
    const presence = answer.body.presence as any[];
    expect(presence.map((e) => [e.type, e.offset])).toEqual([
      ['join', 1],
      ['leave', 2],
    ]);
    expect(presence[1].member.client).toBe(wsClient);
    // The poller, the SSE stream: the same list on every transport.
    const sseClient = presence[0].member.client as string;
    expect(await membersOf(hub, 'hall')).toEqual([self, sseClient].sort());
    const probe = await WsTestClient.connect(hub.wsUrl);
    const listed = await probe.request({ type: 'presence', channel: 'hall' });
    expect(listed.members.map((m: any) => m.client).sort()).toEqual([self, sseClient].sort());
    await probe.close();
    await sse.close();
  });

  it('shows a poller to WebSocket and SSE joinLeave subscribers', async () => {
    hub = await startTestHub();
    const ws = await WsTestClient.connect(hub.wsUrl);
    await ws.request({ type: 'subscribe', channel: 'lobby', joinLeave: true });
    const sse = await SseTestClient.connect(`${hub.url}/events?channel=lobby&joinLeave=1`);
    await sse.ready();
    const first = await poll(hub.url, 'channel=lobby&since=now&session=new');
    const client = (first.body.session as string).split('.')[0]!;
    await ws.frames.until((fs) => fs.some((f) => f.type === 'join' && f.member.client === client), 'the poller joins (WebSocket)');
    await sse.events.until(
      (es) => es.some((e) => e.event === 'join' && JSON.parse(e.data).member.client === client),
      'the poller joins (SSE)',
    );
    await ws.close();
    await sse.close();
  });

  it('keeps at most 100 events per poller: past it, a resync marker', async () => {
    hub = await startTestHub();
    const first = await poll(hub.url, 'channel=busy&since=now&session=new&joinLeave=1');
    const token = first.body.session as string;
    let answer =
      first.body.presence === undefined
        ? await poll(hub.url, `channel=busy&since=${first.body.cursor}&session=${token}&joinLeave=1`)
        : first;
    expect(answer.body.presence).toHaveLength(1);
    const ws = await WsTestClient.connect(hub.wsUrl);
    for (let i = 0; i < 60; i++) {
      await ws.request({ type: 'subscribe', channel: 'busy' });
      await ws.request({ type: 'unsubscribe', channel: 'busy' });
    }
    await publishHttp(hub.url, 'busy', 'after');
    await eventually(async () => (await membersOf(hub!, 'busy')).length === 1, 'the last leave');
    answer = await poll(hub.url, `channel=busy&since=${answer.body.cursor}&session=${token}&joinLeave=1`);
    const presence = answer.body.presence as any[];
    expect(presence[0]).toEqual({ type: 'resync', channel: 'busy' });
    expect(presence.length).toBeLessThanOrEqual(100);
    await ws.close();
  });

  it('sends the presence webhook events of a poller: join on its first poll, leave after the grace period', async () => {
    const sink = new RecordingSink(['presence_join', 'presence_leave']);
    hub = await startTestHub({ webhookSink: sink, presenceDebounce: 0, pollPresenceGrace: 1 });
    const first = await poll(hub.url, 'channel=hooked&since=now&session=new');
    const client = (first.body.session as string).split('.')[0]!;
    await sink.events.until((es) => es.some((e) => e.type === 'presence_join'), 'presence_join');
    await sink.events.until((es) => es.some((e) => e.type === 'presence_leave'), 'presence_leave');
    expect(sink.events.items.map((e) => [e.type, 'client' in e ? e.client : undefined, 'channel' in e ? e.channel : undefined])).toEqual([
      ['presence_join', client, 'hooked'],
      ['presence_leave', client, 'hooked'],
    ]);
  });

  it('a poll refused for a bad parameter makes no member', async () => {
    hub = await startTestHub();
    for (const bad of ['wait=-1', 'limit=0', 'wait=abc']) {
      const answer = await poll(hub.url, `channel=bad&since=now&session=new&${bad}`);
      expect(answer.status, bad).toBe(400);
      expect(answer.body.session).toBeUndefined();
    }
    expect(await membersOf(hub, 'bad')).toEqual([]);
  });

  it('keeps at most maxConnections sessions per node: past it a poll gets no session (and is no member)', async () => {
    hub = await startTestHub({ maxConnections: 2 });
    const tokens: unknown[] = [];
    for (let i = 0; i < 3; i++) tokens.push((await poll(hub.url, 'channel=cap&since=now&session=new')).body.session);
    expect(tokens.slice(0, 2)).toEqual([expect.any(String), expect.any(String)]);
    expect(tokens[2]).toBeUndefined();
    expect(await membersOf(hub, 'cap')).toHaveLength(2);
  });

  it('gives another session to a token it did not issue, or issued to another user', async () => {
    hub = await startTestHub();
    const first = await poll(hub.url, 'channel=sec&since=now&session=new');
    const token = first.body.session as string;
    const [client, tag] = token.split('.') as [string, string];
    const forged = `${client}.${tag.slice(0, -1)}${tag.endsWith('A') ? 'B' : 'A'}`;
    for (const bad of [forged, `${client}.`, 'x.y', '..', client, 'p'.repeat(500)]) {
      const other = await poll(hub.url, `channel=sec&since=now&session=${encodeURIComponent(bad)}`);
      expect(other.status).toBe(200);
      expect(other.body.session).not.toBe(token);
      expect(other.body.session.split('.')[0]).not.toBe(client);
    }
    expect(await membersOf(hub, 'sec')).toContain(client);
  });
});
