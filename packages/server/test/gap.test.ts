import { encodePosition } from '@herald/protocol';
import { poll, SseTestClient, startTestHub, WS_FORMATS, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const q = encodeURIComponent;

// The WebSocket tests run in every frame format (JSON, herald.compact, herald.msgpack); the others once.
describe.each(WS_FORMATS)(
  'gap (WebSocket frames: %s): resuming from outside the retained window or from another epoch is said explicitly',
  (format) => {
    const jsonOnly = format === 'json' ? it : it.skip;
    const hubs: TestHub[] = [];
    const start = async (historySize: number): Promise<TestHub> => {
      const hub = await startTestHub({ historySize });
      hubs.push(hub);
      return hub;
    };
    afterEach(async () => {
      for (const hub of hubs.splice(0)) await hub.close();
    });

    /** A hub with history 10 on which a client saw offsets 1–5, then 20 more were published. */
    const missedTooMuch = async () => {
      const hub = await start(10);
      for (let i = 1; i <= 5; i++) await hub.server.hub.publish('g', i);
      const seen = await poll(hub.url, 'channel=g');
      const epoch = seen.body.messages[0].epoch as string;
      for (let i = 6; i <= 25; i++) await hub.server.hub.publish('g', i);
      const gap = { channel: 'g', reason: 'window', requested: { epoch, offset: 5 }, resumed: { epoch, offset: 15 } };
      return { hub, cursor: seen.body.cursor as string, epoch, gap };
    };

    jsonOnly('polling: a gaps field, then the retained messages', async () => {
      const { hub, cursor, gap } = await missedTooMuch();
      const res = await poll(hub.url, `channel=g&since=${q(cursor)}`);
      expect(res.body.gaps).toEqual([gap]);
      expect(res.body.messages.map((m: any) => m.offset)).toEqual(range(16, 25));
      // Resuming from the answer's cursor is clean again.
      const next = await poll(hub.url, `channel=g&since=${q(res.body.cursor)}`);
      expect(next.body).toEqual({ messages: [], cursor: res.body.cursor });
    });

    jsonOnly('polling: a held long poll answers a gap at once', async () => {
      const { hub, cursor, gap } = await missedTooMuch();
      const res = await poll(hub.url, `channel=g&since=${q(cursor)}&wait=20`);
      expect(res.body.gaps).toEqual([gap]);
    });

    jsonOnly('SSE: a gap event, then the retained messages', async () => {
      const { hub, cursor, gap } = await missedTooMuch();
      const sse = await SseTestClient.connect(`${hub.url}/events?channel=g`, { 'Last-Event-ID': cursor });
      await sse.waitForMessages(10);
      expect(sse.events.items[0]).toEqual({ event: 'gap', data: JSON.stringify({ type: 'gap', ...gap }), id: undefined });
      expect(sse.messages().map((m) => m.offset)).toEqual(range(16, 25));
      await sse.close();
    });

    it('WebSocket: subscribe answers, then a gap frame, then the retained messages; history reports gaps', async () => {
      const { hub, epoch, gap } = await missedTooMuch();
      const ws = await WsTestClient.connect(hub.wsUrl, undefined, format);
      await ws.request({ type: 'subscribe', channel: 'g', since: { epoch, offset: 5 } });
      await ws.waitForMessages(10);
      const types = ws.frames.items.map((f) => f.type);
      expect(types.slice(0, 3)).toEqual(['reply', 'gap', 'message']);
      expect(ws.frames.items[1]).toEqual({ type: 'gap', ...gap });
      expect(ws.messages().map((m) => m.offset)).toEqual(range(16, 25));
      const history = await ws.request({ type: 'history', channel: 'g', since: encodePosition('g', { epoch, offset: 5 }) });
      expect(history.gaps).toEqual([gap]);
      expect(history.messages.map((m: any) => m.offset)).toEqual(range(16, 25));
      await ws.close();
    });

    jsonOnly('the edge of the window is not a gap', async () => {
      const { hub, epoch } = await missedTooMuch();
      const res = await poll(hub.url, `channel=g&since=${q(encodePosition('g', { epoch, offset: 15 }))}`);
      expect(res.body.gaps).toBeUndefined();
      expect(res.body.messages.map((m: any) => m.offset)).toEqual(range(16, 25));
    });

    it('a cursor from a restarted hub (new epoch) is a gap on every transport, never spliced into the new log', async () => {
      const before = await start(100);
      for (let i = 1; i <= 7; i++) await before.server.hub.publish('e', i);
      const old = await poll(before.url, 'channel=e');
      const oldEpoch = old.body.messages[0].epoch as string;
      await before.close();

      const after = await start(100);
      for (let i = 1; i <= 9; i++) await after.server.hub.publish('e', `new ${i}`);
      const newEpoch = (await after.server.hub.position('e')).epoch;
      expect(newEpoch).not.toBe(oldEpoch);
      const gap = { channel: 'e', reason: 'epoch', requested: { epoch: oldEpoch, offset: 7 }, resumed: { epoch: newEpoch, offset: 0 } };

      const polled = await poll(after.url, `channel=e&since=${q(old.body.cursor)}`);
      expect(polled.body.gaps).toEqual([gap]);
      expect(polled.body.messages.map((m: any) => m.offset)).toEqual(range(1, 9));

      const sse = await SseTestClient.connect(`${after.url}/events?channel=e`, { 'Last-Event-ID': old.body.cursor });
      await sse.waitForMessages(9);
      expect(JSON.parse(sse.events.items[0]!.data)).toEqual({ type: 'gap', ...gap });
      await sse.close();

      const ws = await WsTestClient.connect(after.wsUrl, undefined, format);
      await ws.request({ type: 'subscribe', channel: 'e', since: old.body.cursor });
      await ws.waitForMessages(9);
      expect(ws.frames.items[1]).toEqual({ type: 'gap', ...gap });
      expect(ws.messages().map((m) => m.data)).toEqual(range(1, 9).map((i) => `new ${i}`));
      await ws.close();
    });

    jsonOnly('a position beyond the end of the log is a gap of reason "ahead"', async () => {
      const hub = await start(100);
      await hub.server.hub.publish('f', 1);
      const { epoch } = await hub.server.hub.position('f');
      const res = await poll(hub.url, `channel=f&since=${q(encodePosition('f', { epoch, offset: 40 }))}`);
      expect(res.body.gaps).toEqual([{ channel: 'f', reason: 'ahead', requested: { epoch, offset: 40 }, resumed: { epoch, offset: 0 } }]);
      expect(res.body.messages.map((m: any) => m.offset)).toEqual([1]);
    });
  },
);
