import { encodePosition, parseCursor } from '@herald/protocol';
import { eventually, SseTestClient, WsTestClient } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acksProblems,
  getMessages,
  ledgerProblems,
  publishTo,
  startCluster,
  uniqueChannel,
  type Ack,
  type Cluster,
} from './cluster-helpers.js';

// Three hub processes (the built CLI: run `npm run build` first) on one test-owned redis-server,
// reached over real sockets. Every test uses its own channel.
describe('three hub processes on one Redis', () => {
  let cluster: Cluster;
  const url = (i: number): string => cluster.nodes[i]!.url;
  const open: { close(): Promise<unknown> }[] = [];

  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3 });
  });
  afterAll(async () => {
    await Promise.allSettled(open.map((c) => c.close()));
    await cluster?.close();
  });

  async function wsSubscriber(node: number, channel: string): Promise<WsTestClient> {
    const ws = await WsTestClient.connect(`${url(node).replace('http', 'ws')}/ws`);
    open.push(ws);
    const reply = await ws.request({ type: 'subscribe', channel });
    expect(reply.error).toBeUndefined();
    return ws;
  }

  async function sseSubscriber(node: number, channel: string): Promise<SseTestClient> {
    const sse = await SseTestClient.connect(`${url(node)}/events?channel=${encodeURIComponent(channel)}`);
    open.push(sse);
    expect(sse.response.statusCode).toBe(200);
    await sse.ready();
    return sse;
  }

  it('a publish on node A reaches WebSocket, SSE and long-polling subscribers on B and C', async () => {
    const channel = uniqueChannel('fanout');
    const ws = [await wsSubscriber(1, channel), await wsSubscriber(2, channel)];
    const sse = [await sseSubscriber(1, channel), await sseSubscriber(2, channel)];
    // Long polls held on B and C from the current end of the log (offset 0 of a fresh channel).
    const start = await getMessages(url(1), { channel, since: 'now' });
    expect(start.body.messages).toEqual([]);
    const polls = [1, 2].map((node) => getMessages(url(node), { channel, since: start.body.cursor, wait: '10' }));

    const ack = await publishTo(url(0), channel, { text: 'from A' });
    expect(ack.offset).toBe(1);

    const [wsB, wsC] = await Promise.all(ws.map((c) => c.waitForMessages(1, channel)));
    const [sseB, sseC] = await Promise.all(sse.map((c) => c.waitForMessages(1)));
    const [pollB, pollC] = await Promise.all(polls);
    const envelope = { type: 'message', channel, offset: 1, epoch: ack.epoch, time: expect.any(Number), data: { text: 'from A' } };
    expect(wsB).toEqual([envelope]);
    // One stored message: every node hands out the same envelope, time included.
    for (const received of [wsC, sseB, sseC]) expect(received).toEqual(wsB);
    for (const poll of [pollB!, pollC!]) {
      expect(poll.status).toBe(200);
      expect(poll.body).toEqual({ messages: wsB, cursor: encodePosition(channel, { epoch: ack.epoch, offset: 1 }) });
    }
    // Nothing else arrived: no gap, no second copy.
    expect(ws.map((c) => c.frames.items.filter((f) => f.type !== 'reply'))).toEqual([wsB, wsC]);
    expect(sse.map((c) => c.events.items.map((e) => e.event))).toEqual([['message'], ['message']]);
  });

  it('a poller rotating over A, B and C sees one continuous stream, and a cursor reads the same on every node', async () => {
    const channel = uniqueChannel('rotate');
    const total = 300;
    const first = await getMessages(url(0), { channel, since: 'now' });
    const cursors: string[] = [];
    const received: { offset: number; epoch: string; data: unknown }[] = [];
    const poller = (async () => {
      let cursor = first.body.cursor;
      // Each request goes to the next node, with the cursor the previous node handed out.
      for (let i = 0; received.length < total; i++) {
        if (i > 2000) throw new Error(`poller made 2000 requests and has ${received.length} messages`);
        const node = i % 3;
        cursors.push(cursor);
        const answer = await getMessages(url(node), { channel, since: cursor, wait: '5', limit: '25' });
        if (answer.status !== 200 || answer.body.gaps !== undefined)
          throw new Error(`node ${node} answered ${answer.status}: ${answer.text}`);
        received.push(...answer.body.messages);
        cursor = answer.body.cursor;
      }
    })();
    // 300 messages in batches of 10, each batch spread over the three nodes, while the poller reads.
    const acks: Ack[] = [];
    for (let batch = 0; batch < total / 10; batch++) {
      acks.push(...(await Promise.all(Array.from({ length: 10 }, (_, i) => publishTo(url(i % 3), channel, { n: batch * 10 + i })))));
    }
    await poller;

    expect(acksProblems(acks, total)).toEqual([]);
    expect(ledgerProblems(received, acks)).toEqual([]);

    // Every cursor the poller used (at most 30 of them, spread over the run), read on each node:
    // byte-identical answers that start right after the cursor's position.
    const step = Math.max(1, Math.floor(cursors.length / 30));
    const sample = cursors.filter((_, i) => i % step === 0);
    for (const cursor of sample) {
      const answers = await Promise.all([0, 1, 2].map((node) => getMessages(url(node), { channel, since: cursor, limit: '50' })));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      expect(answers[1]!.text).toBe(answers[0]!.text);
      expect(answers[2]!.text).toBe(answers[0]!.text);
      const from = parseCursor(cursor);
      if (!from.ok) throw new Error(`the hub handed out an invalid cursor ${cursor}`);
      const after = from.value.get(channel)!.offset;
      const count = Math.min(50, total - after);
      expect(answers[0]!.body.messages.map((m) => m.offset)).toEqual(Array.from({ length: count }, (_, i) => after + 1 + i));
    }
  });

  it('ten concurrent publishers on three nodes: every subscriber on every node sees the same order', async () => {
    const channel = uniqueChannel('order');
    const publishers = 10;
    const perPublisher = 50;
    const total = publishers * perPublisher;
    const ws = await Promise.all([0, 1, 2].map((node) => wsSubscriber(node, channel)));
    const sse = await Promise.all([0, 1, 2].map((node) => sseSubscriber(node, channel)));

    // Publisher p publishes on node p % 3, each message once the previous one was acknowledged.
    const acks = (
      await Promise.all(
        Array.from({ length: publishers }, async (_, p) => {
          const mine: Ack<{ p: number; i: number }>[] = [];
          for (let i = 0; i < perPublisher; i++) mine.push(await publishTo(url(p % 3), channel, { p, i }));
          return mine;
        }),
      )
    ).flat();
    expect(acksProblems(acks, total)).toEqual([]);

    const ledgers = await Promise.all([
      ...ws.map((c) => c.waitForMessages(total, channel, 20_000)),
      ...sse.map((c) => c.waitForMessages(total, 20_000)),
    ]);
    for (const ledger of ledgers) expect(ledgerProblems(ledger, acks)).toEqual([]);
    // The same order everywhere, and each publisher's messages in the order it sent them.
    const order = ledgers[0]!.map((m) => m.data as { p: number; i: number });
    for (const ledger of ledgers) expect(ledger.map((m) => m.data)).toEqual(order);
    for (let p = 0; p < publishers; p++) {
      expect(order.filter((d) => d.p === p).map((d) => d.i)).toEqual(Array.from({ length: perPublisher }, (_, i) => i));
    }
    // No gap, error or extra frame reached anyone.
    expect(ws.map((c) => c.frames.items.filter((f) => f.type !== 'reply' && f.type !== 'message'))).toEqual([[], [], []]);
    expect(sse.map((c) => c.events.items.filter((e) => e.event !== 'message'))).toEqual([[], [], []]);
  });

  it('GET /healthz answers 200 on every node while Redis is up', async () => {
    for (const node of cluster.nodes) {
      const res = await fetch(`${node.url}/healthz`);
      expect({ status: res.status, body: await res.json() }).toEqual({ status: 200, body: { status: 'ok' } });
    }
  });
});

describe('/healthz follows Redis', () => {
  it('answers 200 while Redis is up, 503 (3001) while it is down, and 200 again once it is back', async () => {
    const cluster = await startCluster({ nodes: 1 });
    try {
      const health = async (): Promise<{ status: number; body: unknown }> => {
        const res = await fetch(`${cluster.nodes[0]!.url}/healthz`);
        return { status: res.status, body: await res.json() };
      };
      expect(await health()).toEqual({ status: 200, body: { status: 'ok' } });
      await cluster.redis.stop();
      expect(await eventually(health, (h) => h.status !== 200, 'a non-200 /healthz with Redis down', { intervalMs: 25 })).toEqual({
        status: 503,
        body: { error: { code: 3001, message: 'the engine is unreachable' } },
      });
      await cluster.redis.start();
      expect(await eventually(health, (h) => h.status === 200, '/healthz 200 once Redis is back', { intervalMs: 25 })).toEqual({
        status: 200,
        body: { status: 'ok' },
      });
    } finally {
      await cluster.close();
    }
  });
});
