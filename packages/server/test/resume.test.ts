import { poll, SseTestClient, startTestHub, WS_FORMATS, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const q = encodeURIComponent;

// The WebSocket tests run in every frame format (JSON, herald.compact, herald.msgpack); the others once.
describe.each(WS_FORMATS)(
  'resume (WebSocket frames: %s): disconnect, miss 500 messages, come back → exactly those 500, in order, once',
  (format) => {
    const jsonOnly = format === 'json' ? it : it.skip;
    let hub: TestHub;
    const publish = async (channel: string, count: number): Promise<void> => {
      for (let i = 0; i < count; i++) await hub.server.hub.publish(channel, { i });
    };
    beforeEach(async () => {
      hub = await startTestHub({ historySize: 2000 });
    });
    afterEach(async () => {
      await hub.close();
    });

    it('WebSocket: subscribe with the last envelope position as since', async () => {
      const first = await WsTestClient.connect(hub.wsUrl, undefined, format);
      await first.request({ type: 'subscribe', channel: 'r' });
      await publish('r', 10);
      const seen = await first.waitForMessages(10);
      const last = seen.at(-1);
      await first.close();

      await publish('r', 500);
      const again = await WsTestClient.connect(hub.wsUrl, undefined, format);
      const reply = await again.request({ type: 'subscribe', channel: 'r', since: { epoch: last.epoch, offset: last.offset } });
      // The reply names where the subscription starts: the position it resumes from.
      expect(reply.position).toEqual({ epoch: last.epoch, offset: 10 });
      await hub.server.hub.publish('r', 'live');
      const resumed = await again.waitForMessages(501);
      expect(resumed.map((m) => m.offset)).toEqual(range(11, 511));
      expect(again.frames.items.filter((f) => f.type === 'gap')).toEqual([]);
      // The reply comes before the replay.
      expect(again.frames.items.findIndex((f) => f.type === 'reply')).toBeLessThan(
        again.frames.items.findIndex((f) => f.type === 'message'),
      );
      await again.close();
    });

    jsonOnly('SSE: the browser-style reconnect with Last-Event-ID, which wins over since', async () => {
      const first = await SseTestClient.connect(`${hub.url}/events?channel=s`);
      await first.ready();
      const initialId = first.lastEventId;
      await publish('s', 10);
      await first.waitForMessages(10);
      const lastId = first.lastEventId;
      await first.close();

      await publish('s', 500);
      const again = await SseTestClient.connect(`${hub.url}/events?channel=s&since=${q(initialId)}`, { 'Last-Event-ID': lastId });
      const resumed = await again.waitForMessages(500);
      expect(resumed.map((m) => m.offset)).toEqual(range(11, 510));
      await hub.server.hub.publish('s', 'live');
      await again.waitForMessages(501);
      expect(again.messages().map((m) => m.offset)).toEqual(range(11, 511));
      expect(again.events.items.filter((e) => e.event === 'gap')).toEqual([]);
      await again.close();
    });

    jsonOnly('SSE: a stream that saw no message yet resumes from the id of its preamble', async () => {
      const first = await SseTestClient.connect(`${hub.url}/events?channel=quiet`);
      await first.ready();
      await first.close();
      await publish('quiet', 3);
      const again = await SseTestClient.connect(`${hub.url}/events?channel=quiet`, { 'Last-Event-ID': first.lastEventId });
      expect((await again.waitForMessages(3)).map((m) => m.offset)).toEqual([1, 2, 3]);
      await again.close();
    });

    jsonOnly('SSE: two channels on one stream resume together from one id', async () => {
      const first = await SseTestClient.connect(`${hub.url}/events?channel=x&channel=y`);
      await first.ready();
      await publish('x', 5);
      await publish('y', 3);
      await first.waitForMessages(8);
      const lastId = first.lastEventId;
      await first.close();

      for (let i = 0; i < 500; i++) {
        await hub.server.hub.publish('x', i);
        await hub.server.hub.publish('y', i);
      }
      const again = await SseTestClient.connect(`${hub.url}/events?channel=x&channel=y`, { 'Last-Event-ID': lastId });
      await again.waitForMessages(1000);
      expect(again.messages('x').map((m) => m.offset)).toEqual(range(6, 505));
      expect(again.messages('y').map((m) => m.offset)).toEqual(range(4, 503));
      // The last id covers both channels: resuming from it again yields nothing old.
      const third = await SseTestClient.connect(`${hub.url}/events?channel=x&channel=y`, { 'Last-Event-ID': again.lastEventId });
      await third.ready();
      await again.close();
      await hub.server.hub.publish('y', 'new');
      expect((await third.waitForMessages(1)).map((m) => [m.channel, m.offset])).toEqual([['y', 504]]);
      await third.close();
    });

    jsonOnly('polling: since the last cursor', async () => {
      await publish('p', 10);
      const first = await poll(hub.url, 'channel=p');
      expect(first.body.messages).toHaveLength(10);
      await publish('p', 500);
      const resumed = await poll(hub.url, `channel=p&since=${q(first.body.cursor)}`);
      expect(resumed.body.messages.map((m: any) => m.offset)).toEqual(range(11, 510));
      expect(resumed.body.gaps).toBeUndefined();
      const nothing = await poll(hub.url, `channel=p&since=${q(resumed.body.cursor)}`);
      expect(nothing.body).toEqual({ messages: [], cursor: resumed.body.cursor });
    });

    it('accepts a cursor from any transport as since on every other transport', async () => {
      const ws = await WsTestClient.connect(hub.wsUrl, undefined, format);
      const wsReply = await ws.request({ type: 'subscribe', channel: 'c' });
      const sse = await SseTestClient.connect(`${hub.url}/events?channel=c`);
      await sse.ready();
      await publish('c', 3);
      await ws.waitForMessages(3);
      await sse.waitForMessages(3);
      const polled = await poll(hub.url, 'channel=c');
      const cursors = { websocket: wsReply.cursor as string, sse: sse.lastEventId, polling: polled.body.cursor as string };
      await ws.close();
      await sse.close();
      await publish('c', 2);
      // What each cursor stands for: the WebSocket reply's at offset 0, the others at 3.
      const expected = { websocket: range(1, 5), sse: [4, 5], polling: [4, 5] };
      for (const [from, cursor] of Object.entries(cursors)) {
        const want = expected[from as keyof typeof expected];
        const viaPoll = await poll(hub.url, `channel=c&since=${q(cursor)}`);
        expect(
          viaPoll.body.messages.map((m: any) => m.offset),
          `${from} cursor on polling`,
        ).toEqual(want);
        const viaSse = await SseTestClient.connect(`${hub.url}/events?channel=c&since=${q(cursor)}`);
        expect(
          (await viaSse.waitForMessages(want.length)).map((m) => m.offset),
          `${from} cursor on SSE`,
        ).toEqual(want);
        await viaSse.close();
        const viaWs = await WsTestClient.connect(hub.wsUrl, undefined, format);
        await viaWs.request({ type: 'subscribe', channel: 'c', since: cursor });
        expect(
          (await viaWs.waitForMessages(want.length)).map((m) => m.offset),
          `${from} cursor on WebSocket`,
        ).toEqual(want);
        const history = await viaWs.request({ type: 'history', channel: 'c', since: cursor });
        expect(
          history.messages.map((m: any) => m.offset),
          `${from} cursor on history`,
        ).toEqual(want);
        await viaWs.close();
      }
    });

    it('resuming while messages keep arriving loses and repeats nothing', async () => {
      await publish('busy', 50);
      let publishing = true;
      let published = 50;
      const publisher = (async () => {
        while (publishing && published < 2000) {
          await hub.server.hub.publish('busy', published);
          published++;
          if (published % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const ws = await WsTestClient.connect(hub.wsUrl, undefined, format);
      const epoch = (await hub.server.hub.position('busy')).epoch;
      await ws.request({ type: 'subscribe', channel: 'busy', since: { epoch, offset: 20 } });
      const sse = await SseTestClient.connect(
        `${hub.url}/events?channel=busy&since=${q((await poll(hub.url, 'channel=busy&limit=20')).body.cursor)}`,
      );
      await ws.waitForMessages(200);
      await sse.waitForMessages(200);
      publishing = false;
      await publisher;
      const total = published;
      await ws.waitForMessages(total - 20);
      await sse.waitForMessages(total - 20);
      expect(ws.messages().map((m) => m.offset)).toEqual(range(21, total));
      expect(sse.messages().map((m) => m.offset)).toEqual(range(21, total));
      await Promise.all([ws.close(), sse.close()]);
    });
  },
);
