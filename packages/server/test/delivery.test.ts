import { poll, publishHttp, SseTestClient, startTestHub, WS_FORMATS, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// The WebSocket tests run in every frame format (JSON, herald.compact, herald.msgpack); the others once.
describe.each(WS_FORMATS)(
  'delivery (WebSocket frames: %s): publish over HTTP and WebSocket, receive over all three transports',
  (format) => {
    const jsonOnly = format === 'json' ? it : it.skip;
    let hub: TestHub;
    beforeEach(async () => {
      hub = await startTestHub();
    });
    afterEach(async () => {
      await hub.close();
    });

    jsonOnly('answers /healthz', async () => {
      const res = await fetch(`${hub.url}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    });

    it('delivers an HTTP publish to a WebSocket, an SSE stream and a held long poll', async () => {
      const ws = await WsTestClient.connect(hub.wsUrl, undefined, format);
      const subscribed = await ws.request({ type: 'subscribe', channel: 'news' });
      expect(subscribed).toMatchObject({ type: 'reply', channel: 'news', position: { offset: 0 } });
      expect(subscribed.cursor).toMatch(/^c1\./);
      const sse = await SseTestClient.connect(`${hub.url}/events?channel=news`);
      await sse.ready();
      expect(sse.response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(sse.response.headers['cache-control']).toBe('no-cache, no-transform');
      expect(sse.response.headers['x-accel-buffering']).toBe('no');
      expect(sse.retry).toBe(2000);
      expect(sse.readyEvent).toEqual({ type: 'ready', cursor: sse.lastEventId });
      const held = poll(hub.url, `channel=news&since=${encodeURIComponent(subscribed.cursor)}&wait=20`);
      // The poll is held until the publish: make sure it reached the hub first.
      await expect.poll(() => hub.server.stats().polling).toBe(1);

      const published = await publishHttp(hub.url, 'news', { title: 'hello' });
      expect(published.status).toBe(200);
      expect(published.body).toEqual({ channel: 'news', epoch: subscribed.position.epoch, offset: 1 });

      const envelope = { type: 'message', channel: 'news', offset: 1, epoch: published.body.epoch, data: { title: 'hello' } };
      const [wsMessage] = await ws.waitForMessages(1);
      expect(wsMessage).toMatchObject(envelope);
      expect(typeof wsMessage.time).toBe('number');
      const [sseMessage] = await sse.waitForMessages(1);
      expect(sseMessage).toEqual(wsMessage);
      expect(sse.events.items[0]!.event).toBe('message');
      const polled = await held;
      expect(polled.status).toBe(200);
      expect(polled.body.messages).toEqual([wsMessage]);
      expect(polled.body.cursor).toBe(sse.lastEventId);
      await ws.close();
      await sse.close();
    });

    it('delivers a WebSocket publish to the publisher, another socket, SSE and polling, and replies with the position', async () => {
      const a = await WsTestClient.connect(hub.wsUrl, undefined, format);
      const b = await WsTestClient.connect(hub.wsUrl, undefined, format);
      await a.request({ type: 'subscribe', channel: 'chat' });
      await b.request({ type: 'subscribe', channel: 'chat' });
      const sse = await SseTestClient.connect(`${hub.url}/events?channel=chat`);
      await sse.ready();
      const reply = await a.request({ type: 'publish', channel: 'chat', data: ['any', 'json', 1] });
      expect(reply).toMatchObject({ type: 'reply', channel: 'chat', offset: 1 });
      expect(reply.error).toBeUndefined();
      const [fromB] = await b.waitForMessages(1);
      expect(fromB.data).toEqual(['any', 'json', 1]);
      expect((await a.waitForMessages(1))[0]).toEqual(fromB);
      expect((await sse.waitForMessages(1))[0]).toEqual(fromB);
      const polled = await poll(hub.url, 'channel=chat');
      expect(polled.body.messages).toEqual([fromB]);
      await Promise.all([a.close(), b.close(), sse.close()]);
    });

    jsonOnly('answers a long poll within milliseconds of the publish, and an empty answer with a cursor when the wait ends', async () => {
      const first = await poll(hub.url, 'channel=quiet');
      expect(first.body).toEqual({ messages: [], cursor: expect.stringMatching(/^c1\./) });
      const empty = await poll(hub.url, `channel=quiet&since=${encodeURIComponent(first.body.cursor)}&wait=0.2`);
      expect(empty.body).toEqual({ messages: [], cursor: first.body.cursor });

      const held = poll(hub.url, `channel=quiet&since=${encodeURIComponent(first.body.cursor)}&wait=20`).then((r) => ({
        ...r,
        at: performance.now(),
      }));
      await expect.poll(() => hub.server.stats().polling).toBe(1);
      const before = performance.now();
      await hub.server.hub.publish('quiet', 'wake');
      const answer = await held;
      expect(answer.body.messages.map((m: any) => m.data)).toEqual(['wake']);
      // "within a few milliseconds": generous on a loaded machine, far below any polling interval.
      expect(answer.at - before).toBeLessThan(500);
    });

    jsonOnly('keeps order per channel and delivers each channel of a multi-channel request', async () => {
      for (let i = 1; i <= 5; i++) {
        await hub.server.hub.publish('a', i);
        await hub.server.hub.publish('b', -i);
      }
      const both = await poll(hub.url, 'channel=a&channel=b');
      const a = both.body.messages.filter((m: any) => m.channel === 'a').map((m: any) => m.offset);
      const b = both.body.messages.filter((m: any) => m.channel === 'b').map((m: any) => m.offset);
      expect(a).toEqual([1, 2, 3, 4, 5]);
      expect(b).toEqual([1, 2, 3, 4, 5]);
      const limited = await poll(hub.url, 'channel=a&limit=2');
      expect(limited.body.messages.map((m: any) => m.offset)).toEqual([1, 2]);
      expect(limited.body.more).toBe(true);
      const rest = await poll(hub.url, `channel=a&since=${encodeURIComponent(limited.body.cursor)}`);
      expect(rest.body.messages.map((m: any) => m.offset)).toEqual([3, 4, 5]);
      expect(rest.body.more).toBeUndefined();
    });

    it('answers history on the WebSocket, after a position and with a limit', async () => {
      for (let i = 1; i <= 6; i++) await hub.server.hub.publish('h', i);
      const ws = await WsTestClient.connect(hub.wsUrl, undefined, format);
      const all = await ws.request({ type: 'history', channel: 'h' });
      expect(all.messages.map((m: any) => m.data)).toEqual([1, 2, 3, 4, 5, 6]);
      const after = await ws.request({ type: 'history', channel: 'h', since: { epoch: all.position.epoch, offset: 4 } });
      expect(after.messages.map((m: any) => m.offset)).toEqual([5, 6]);
      const limited = await ws.request({ type: 'history', channel: 'h', since: { epoch: all.position.epoch, offset: 0 }, limit: 2 });
      expect(limited.messages.map((m: any) => m.offset)).toEqual([1, 2]);
      expect(limited.more).toBe(true);
      const next = await ws.request({ type: 'history', channel: 'h', since: limited.cursor });
      expect(next.messages.map((m: any) => m.offset)).toEqual([3, 4, 5, 6]);
      const pong = await ws.request({ type: 'ping' });
      expect(pong).toEqual({ type: 'reply', id: pong.id });
      await ws.close();
    });

    it('stops delivering after unsubscribe', async () => {
      const ws = await WsTestClient.connect(hub.wsUrl, undefined, format);
      await ws.request({ type: 'subscribe', channel: 'u' });
      await ws.request({ type: 'subscribe', channel: 'v' });
      expect(await ws.request({ type: 'unsubscribe', channel: 'u' })).toEqual({ type: 'reply', id: expect.any(Number), channel: 'u' });
      await hub.server.hub.publish('u', 'not for you');
      await hub.server.hub.publish('v', 'for you');
      const [message] = await ws.waitForMessages(1);
      expect(message.channel).toBe('v');
      expect(ws.messages('u')).toEqual([]);
      await ws.close();
    });

    jsonOnly('since=now starts at the end of the log: no backlog, and a long poll waits for the next message', async () => {
      await hub.server.hub.publish('tail', 'old');
      const now = await poll(hub.url, 'channel=tail&since=now');
      expect(now.body.messages).toEqual([]);
      const held = poll(hub.url, 'channel=tail&since=now&wait=20');
      await expect.poll(() => hub.server.stats().polling).toBe(1);
      await hub.server.hub.publish('tail', 'new');
      expect((await held).body.messages.map((m: any) => m.data)).toEqual(['new']);
      const after = await poll(hub.url, `channel=tail&since=${encodeURIComponent(now.body.cursor)}`);
      expect(after.body.messages.map((m: any) => m.data)).toEqual(['new']);
    });
  },
);
