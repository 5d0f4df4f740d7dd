import type { Gap, Position } from '@herald/protocol';
import { NatsBroker, NatsPresenceStore } from '@herald/nats';
import { eventually, startNatsCluster, startTestHub, WsTestClient, type TestHub, type TestNatsCluster } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { streamLeader, testPrefix } from './nats-helpers.js';

const cleanups: (() => unknown)[] = [];
function own<T>(value: T, close: (value: T) => unknown): T {
  cleanups.push(() => close(value));
  return value;
}
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch {
      // Keep cleaning up.
    }
  }
});

type Delivery = { type: 'message'; epoch: string; offset: number; data: unknown } | ({ type: 'gap' } & Gap);
interface Ack {
  readonly epoch: string;
  readonly offset: number;
  readonly data: unknown;
}

/** A hub on the NATS engine, stream and buckets with 3 replicas. */
async function natsHub(cluster: TestNatsCluster, prefix: string): Promise<TestHub> {
  const broker = await NatsBroker.connect({ url: cluster.url, prefix, replicas: 3, commandTimeout: 2000, historySize: 10_000 });
  const presence = await NatsPresenceStore.connect({ url: cluster.url, prefix, replicas: 3, commandTimeout: 2000 });
  return startTestHub({ broker, presence, positionCheckInterval: 500 });
}

function deliveries(ws: WsTestClient, channel: string): Delivery[] {
  return ws.frames.items
    .filter((f) => (f.type === 'message' || f.type === 'gap') && f.channel === channel)
    .map((f): Delivery =>
      f.type === 'gap'
        ? { type: 'gap', channel: f.channel, reason: f.reason, requested: f.requested, resumed: f.resumed }
        : { type: 'message', epoch: f.epoch, offset: f.offset, data: f.data },
    );
}

/** Each message is the next offset of the current epoch, or comes right after a gap that starts where the client stood. */
function checkNoSilentHole(list: readonly Delivery[], start: Position, who: string): { messages: Ack[]; gaps: Gap[] } {
  let at = start;
  const messages: Ack[] = [];
  const gaps: Gap[] = [];
  list.forEach((d, i) => {
    if (d.type === 'gap') {
      expect(d.requested, `${who}: gap #${i} must start where the client stood`).toEqual(at);
      gaps.push({ channel: d.channel, reason: d.reason, requested: d.requested, resumed: d.resumed });
      at = d.resumed;
      return;
    }
    expect({ epoch: d.epoch, offset: d.offset }, `${who}: delivery #${i} after ${at.epoch}/${at.offset}`).toEqual({
      epoch: at.epoch,
      offset: at.offset + 1,
    });
    messages.push({ epoch: d.epoch, offset: d.offset, data: d.data });
    at = { epoch: d.epoch, offset: d.offset };
  });
  return { messages, gaps };
}

/** Long-polls `GET /api/messages` with its cursor until stopped, as a backend poller does (a 503 is retried). */
function startPoller(url: string, channel: string): { deliveries: Delivery[]; unexpected: unknown[]; stop(): Promise<void> } {
  const deliveries: Delivery[] = [];
  const unexpected: unknown[] = [];
  let cursor: string | undefined;
  let stopped = false;
  const loop = (async () => {
    for (let round = 0; !stopped && round < 100_000; round++) {
      try {
        const since = cursor === undefined ? '' : `&since=${cursor}`;
        const res = await fetch(`${url}/api/messages?channel=${channel}${since}&wait=1`, { signal: AbortSignal.timeout(10_000) });
        const body = (await res.json()) as { messages?: any[]; gaps?: any[]; cursor?: string; error?: { code: number } };
        if (res.status === 200) {
          for (const gap of body.gaps ?? []) deliveries.push({ type: 'gap', ...gap });
          for (const m of body.messages ?? []) deliveries.push({ type: 'message', epoch: m.epoch, offset: m.offset, data: m.data });
          cursor = body.cursor;
        } else {
          if (res.status !== 503 || body.error?.code !== 3001) unexpected.push({ status: res.status, body });
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      } catch (error) {
        unexpected.push(String(error));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  })();
  return {
    deliveries,
    unexpected,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

describe('NATS engine on a 3-server cluster, stream R3', () => {
  it('the stream leader SIGKILLed while a loop publishes and two nodes deliver (WebSocket) and answer a long-poller, then restarted: every acknowledged message reaches every subscriber once, in order', async () => {
    const cluster = own(await startNatsCluster({ servers: 3 }), (c) => c.close());
    const prefix = testPrefix();
    const a = own(await natsHub(cluster, prefix), (h) => h.close());
    const b = own(await natsHub(cluster, prefix), (h) => h.close());
    const channel = 'fault';
    const clients = [
      own(await WsTestClient.connect(a.wsUrl), (c) => c.close()),
      own(await WsTestClient.connect(b.wsUrl), (c) => c.close()),
    ];
    const starts: Position[] = [];
    for (const ws of clients) starts.push((await ws.request({ type: 'subscribe', channel })).position as Position);

    const poller = startPoller(b.url, channel);
    const acks: Ack[] = [];
    const rejected: unknown[] = [];
    let stop = false;
    const publisher = (async () => {
      for (let i = 0; i < 5000 && !stop; i++) {
        const hub = i % 2 === 0 ? a : b;
        try {
          const res = await fetch(`${hub.url}/api/publish`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ channel, data: i }),
            signal: AbortSignal.timeout(5000),
          });
          const body = (await res.json()) as { epoch?: string; offset?: number };
          if (res.status === 200 && body.epoch !== undefined && body.offset !== undefined)
            acks.push({ epoch: body.epoch, offset: body.offset, data: i });
          else rejected.push(i);
        } catch {
          rejected.push(i);
        }
      }
    })();

    await eventually(() => acks.length >= 100, '100 acknowledged publishes', { timeoutMs: 20_000 });
    // The stream's leader: the server whose loss forces an election while appends are in flight.
    const leader = await streamLeader(cluster.url, prefix);
    await cluster.kill(leader);
    const atKill = acks.length;
    await eventually(() => acks.length >= atKill + 200, '200 more acknowledged with a server down', { timeoutMs: 30_000 });
    await cluster.restart(leader);
    const atRestart = acks.length;
    await eventually(() => acks.length >= atRestart + 100, '100 more acknowledged after the restart', { timeoutMs: 30_000 });
    stop = true;
    await publisher;

    const last = acks.at(-1)!;
    await eventually(
      () => poller.deliveries.some((d) => d.type === 'message' && d.offset >= last.offset),
      `the poller reaches offset ${last.offset}`,
      { timeoutMs: 20_000 },
    );
    await poller.stop();
    expect(poller.unexpected).toEqual([]);
    const polled = checkNoSilentHole(poller.deliveries, { epoch: acks[0]!.epoch, offset: 0 }, 'poller');
    expect(polled.gaps, 'poller: gaps').toEqual([]);
    expect(polled.messages.filter((m) => acks.some((a) => a.offset === m.offset))).toEqual(acks);
    for (const [i, ws] of clients.entries()) {
      await eventually(
        () => {
          const list = deliveries(ws, channel);
          const tail = list.at(-1);
          return tail !== undefined && tail.type === 'message' && tail.offset >= last.offset;
        },
        `client ${i} reaches offset ${last.offset}`,
        { timeoutMs: 20_000 },
      );
      const { messages, gaps } = checkNoSilentHole(deliveries(ws, channel), starts[i]!, `client ${i}`);
      // R3: a quorum stored every acknowledged message, so nothing is lost and no gap is needed.
      expect(gaps, `client ${i}: gaps`).toEqual([]);
      const received = new Map(messages.map((m) => [m.offset, m]));
      for (const ack of acks) expect(received.get(ack.offset), `client ${i}: acknowledged offset ${ack.offset}`).toEqual(ack);
      const acked = new Set(acks.map((m) => m.offset));
      for (const extra of messages.filter((m) => !acked.has(m.offset)))
        expect(rejected, `client ${i}: unacknowledged offset ${extra.offset}`).toContain(extra.data);
    }
    console.log(`NATS R3 fault (leader n${leader + 1} killed): ${acks.length} acknowledged, ${rejected.length} refused or unanswered`);
  }, 120_000);
});
