import { createClient as createHeraldClient } from '@herald/client/node';
import type { Position } from '@herald/protocol';
import { Collector, SseTestClient, startHeraldNode, startRedisServer, WsTestClient } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  adminClient,
  checkNoSilentHole,
  health,
  HttpPoller,
  lastOffset,
  liveSubscribers,
  publishRaw,
  readyPosition,
  redisPid,
  RedisFaultProxy,
  sseDeliveries,
  startNodeProcess,
  startRedisHub,
  toDelivery,
  waitUntil,
  wsDeliveries,
  type Ack,
  type Delivery,
} from './fault-helpers.js';

// Every test owns its redis-server (a free port, a temporary directory): the shared one on 6379 is
// never stopped. Nodes use the default prefix, as `herald start --engine redis://…` does.

const cleanups: (() => unknown)[] = [];

/** Registers `close` to run after the test (in reverse order of registration), and returns `value`. */
function own<T>(value: T, close: (value: T) => unknown): T {
  cleanups.push(() => close(value));
  return value;
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch {
      // Keep cleaning up: one failed close must not leak the rest.
    }
  }
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const live = (channel: string): string => `herald:live:${channel}`;
const unavailable = { error: { code: 3001, message: 'the engine is unavailable' } };
const unreachable = { error: { code: 3001, message: 'the engine is unreachable' } };

/** Checks a client's deliveries against the ledger: no silent hole, no gap, every ack once with its data. */
function checkLedger(
  deliveries: readonly Delivery[],
  start: Position,
  acks: readonly Ack[],
  rejected: readonly unknown[],
  who: string,
): void {
  const { messages, gaps } = checkNoSilentHole(deliveries, start, who);
  expect(gaps, `${who}: gaps`).toEqual([]);
  const received = new Map(messages.map((m) => [m.offset, m]));
  for (const ack of acks) expect(received.get(ack.offset), `${who}: acknowledged offset ${ack.offset}`).toEqual(ack);
  // A publish whose reply was lost with the connection may have been stored: it is not in the
  // ledger, but it must be one of the rejected ones, not something else.
  const acked = new Set(acks.map((a) => a.offset));
  for (const extra of messages.filter((m) => !acked.has(m.offset)))
    expect(rejected, `${who}: unacknowledged offset ${extra.offset}`).toContainEqual(extra.data);
}

describe('Redis stopped and restarted', () => {
  it('nodes report not ready and answer 503 + Retry-After to every publish while Redis is down, then recover by themselves', async () => {
    const redis = own(await startRedisServer({ persistence: true }), (r) => r.close());
    const cli = own(await startHeraldNode({ engine: redis.url }), (n) => n.stop(2000));
    const local = own(await startRedisHub({ url: redis.url }), (h) => h.close());
    const nodes = [cli.url, local.url];
    const wsUrls = [`ws://127.0.0.1:${cli.port}/ws`, local.wsUrl];
    for (const url of nodes) expect(await health(url)).toEqual({ status: 200, retryAfter: null, body: { status: 'ok' } });
    const first = await publishRaw(cli.url, 'outage', 'before');
    expect(first.status).toBe(200);
    const epoch = first.body.epoch as string;
    expect(first.body).toEqual({ channel: 'outage', epoch, offset: 1 });
    const sockets: WsTestClient[] = [];
    for (const url of wsUrls) sockets.push(own(await WsTestClient.connect(url), (ws) => ws.close()));

    await redis.stop();
    // Redis is gone: nothing can be acknowledged any more, from the first request on.
    for (const url of nodes) {
      for (let i = 0; i < 3; i++)
        expect(await publishRaw(url, 'outage', `during ${i}`)).toEqual({ status: 503, retryAfter: '1', body: unavailable });
    }
    for (const ws of sockets) {
      const reply = await ws.request({ type: 'publish', channel: 'outage', data: 'during' });
      expect(reply).toEqual({ type: 'reply', id: reply.id, error: { code: 3001, message: 'the engine is unavailable' } });
    }
    for (const url of nodes) {
      await waitUntil(async () => (await health(url)).status === 503, `${url}/healthz to report the outage`, 5000);
      expect(await health(url)).toEqual({ status: 503, retryAfter: '1', body: unreachable });
    }
    // Still down a moment later: no hidden retry turns a refused publish into an accepted one.
    expect(await publishRaw(local.url, 'outage', 'still during')).toEqual({ status: 503, retryAfter: '1', body: unavailable });

    await redis.start();
    const restarted = Date.now();
    for (const url of nodes) await waitUntil(async () => (await health(url)).status === 200, `${url}/healthz to recover`, 5000);
    expect(Date.now() - restarted).toBeLessThan(5000);
    // The same log (persistence): offsets continue, nothing refused took a place in it.
    expect(await publishRaw(local.url, 'outage', 'after 1')).toEqual({
      status: 200,
      retryAfter: null,
      body: { channel: 'outage', epoch, offset: 2 },
    });
    expect(await publishRaw(cli.url, 'outage', 'after 2')).toEqual({
      status: 200,
      retryAfter: null,
      body: { channel: 'outage', epoch, offset: 3 },
    });
    for (const [i, ws] of sockets.entries()) {
      const reply = await ws.request({ type: 'publish', channel: 'outage', data: `after ws ${i}` });
      expect(reply).toEqual({ type: 'reply', id: reply.id, channel: 'outage', epoch, offset: 4 + i });
    }
    // The CLI node was never restarted, and said what happened.
    expect(await Promise.race([cli.exited, sleep(0).then(() => 'running')])).toBe('running');
    expect(cli.output()).toContain('"msg":"redis unreachable; reconnecting"');
    expect(cli.output()).toContain('"msg":"redis connection restored"');
  });

  it('Redis frozen (SIGSTOP): publishes and reads answer 503 once the command timeout has passed, then succeed after SIGCONT', async () => {
    const redis = own(await startRedisServer(), (r) => r.close());
    const admin = own(await adminClient(redis.url), (c) => c.destroy());
    const pid = await redisPid(admin);
    const node = own(await startRedisHub({ url: redis.url, commandTimeout: 500 }), (h) => h.close());
    expect((await publishRaw(node.url, 'frozen', 1)).body).toMatchObject({ channel: 'frozen', offset: 1 });

    // The connections stay open (the kernel keeps them), but nothing answers.
    process.kill(pid, 'SIGSTOP');
    own(pid, (p) => process.kill(p, 'SIGCONT'));
    const timed = async <T>(call: () => Promise<T>): Promise<{ result: T; ms: number }> => {
      const started = Date.now();
      const result = await call();
      return { result, ms: Date.now() - started };
    };
    const published = await timed(() => publishRaw(node.url, 'frozen', 2));
    expect(published.result).toEqual({ status: 503, retryAfter: '1', body: unavailable });
    const polled = await timed(async () => {
      const res = await fetch(`${node.url}/api/messages?channel=frozen`);
      return { status: res.status, body: await res.json() };
    });
    expect(polled.result).toEqual({ status: 503, body: unavailable });
    for (const { ms } of [published, polled]) {
      expect(ms).toBeGreaterThanOrEqual(450);
      expect(ms).toBeLessThan(2000);
    }
    // The sockets look open, but the health probe gets no answer: the node reports not ready.
    await waitUntil(async () => (await health(node.url)).status === 503, 'healthz 503 while Redis is frozen', 5000);
    expect(await health(node.url)).toEqual({
      status: 503,
      retryAfter: '1',
      body: { error: { code: 3001, message: 'the engine is unreachable' } },
    });

    process.kill(pid, 'SIGCONT');
    await waitUntil(async () => (await health(node.url)).status === 200, 'healthz 200 after SIGCONT', 5000);
    // Redis ran the timed-out publish when it woke up (errors.md: after a command timeout a refused
    // publish may have been stored), so this one comes after it.
    expect(await publishRaw(node.url, 'frozen', 3)).toEqual({
      status: 200,
      retryAfter: null,
      body: { channel: 'frozen', epoch: expect.any(String), offset: 3 },
    });
  });

  it('with persistence: WebSocket, SSE and polling clients on two nodes get every acknowledged message once, in order', async () => {
    const redis = own(await startRedisServer({ persistence: true }), (r) => r.close());
    const a = own(await startRedisHub({ url: redis.url }), (h) => h.close());
    const b = own(await startRedisHub({ url: redis.url }), (h) => h.close());
    const channel = 'ledger';

    const ws = own(await WsTestClient.connect(a.wsUrl), (c) => c.close());
    const subscribed = await ws.request({ type: 'subscribe', channel });
    const start = subscribed.position as Position;
    expect(start.offset).toBe(0);
    const sse = own(await SseTestClient.connect(`${b.url}/events?channel=${channel}`), (c) => c.close());
    await sse.ready();
    expect(readyPosition(sse, channel)).toEqual(start);
    const poller = own(new HttpPoller(a.url, channel, { cursor: subscribed.cursor, wait: 0.25 }), (p) => p.stop());
    poller.start();
    const sdk = own(
      createHeraldClient({ url: b.url, transports: ['polling'], pollWait: 1, reconnect: { minDelay: 50, maxDelay: 200 } }),
      (c) => c.close(),
    );
    const sdkDeliveries = new Collector<Delivery>();
    const sub = sdk.subscribe(channel, (m) => sdkDeliveries.push(toDelivery(m)), { since: start });
    sub.on('gap', (gap) => sdkDeliveries.push(toDelivery({ type: 'gap', ...gap })));

    // One publisher, alternating nodes, before, during and after the outage.
    const acks: Ack[] = [];
    const rejected: unknown[] = [];
    const unexpected: unknown[] = [];
    let publishing = true;
    const publisher = (async () => {
      for (let n = 1; publishing; n++) {
        const data = { n };
        const res = await publishRaw(n % 2 === 0 ? a.url : b.url, channel, data);
        if (res.status === 200) acks.push({ epoch: res.body.epoch, offset: res.body.offset, data });
        else if (res.status === 503 && res.retryAfter === '1' && res.body.error?.code === 3001) rejected.push(data);
        else unexpected.push(res);
        await sleep(10);
      }
    })();
    try {
      await waitUntil(() => acks.length >= 15, '15 publishes before the outage');
      await redis.stop();
      const before = acks.length;
      const polled = poller.statuses.length;
      await waitUntil(
        () => rejected.length >= 5 && poller.statuses.slice(polled).includes(503),
        '5 publishes and a poll refused during the outage',
      );
      expect(acks.length).toBe(before);
      await redis.start();
      await waitUntil(() => acks.length >= before + 15, '15 publishes after the outage');
    } finally {
      publishing = false;
      await publisher;
    }
    expect(unexpected).toEqual([]);
    expect(new Set(acks.map((ack) => ack.epoch))).toEqual(new Set([start.epoch]));
    const last = acks.at(-1)!.offset;

    await ws.frames.until(() => lastOffset(wsDeliveries(ws, channel)) >= last, `WebSocket client to reach offset ${last}`);
    await sse.events.until(() => lastOffset(sseDeliveries(sse, channel)) >= last, `SSE client to reach offset ${last}`);
    await poller.deliveries.until((d) => lastOffset(d) >= last, `poller to reach offset ${last}`);
    await sdkDeliveries.until((d) => lastOffset(d) >= last, `SDK polling client to reach offset ${last}`);
    await poller.stop();
    expect(poller.unexpected).toEqual([]);

    checkLedger(wsDeliveries(ws, channel), start, acks, rejected, 'WebSocket on node A');
    checkLedger(sseDeliveries(sse, channel), start, acks, rejected, 'SSE on node B');
    checkLedger(poller.deliveries.items, start, acks, rejected, 'poller on node A');
    checkLedger(sdkDeliveries.items, start, acks, rejected, 'SDK (polling) on node B');
  });

  it('without persistence: the lost log starts a new epoch, and every client is told with an epoch gap before the new messages', async () => {
    const redis = own(await startRedisServer(), (r) => r.close());
    const a = own(await startRedisHub({ url: redis.url, memberTtl: 1 }), (h) => h.close());
    const b = own(await startRedisHub({ url: redis.url, memberTtl: 1 }), (h) => h.close());
    const channel = 'reset';
    // -1 while the node cannot answer (a 503 during the restart).
    const members = async (): Promise<number> =>
      ((await (await fetch(`${a.url}/api/presence?channel=${channel}`)).json()) as { members?: unknown[] }).members?.length ?? -1;

    const ws = own(await WsTestClient.connect(a.wsUrl), (c) => c.close());
    const subscribed = await ws.request({ type: 'subscribe', channel });
    const start = subscribed.position as Position;
    const sse = own(await SseTestClient.connect(`${b.url}/events?channel=${channel}`), (c) => c.close());
    await sse.ready();
    expect(readyPosition(sse, channel)).toEqual(start);
    const poller = new HttpPoller(b.url, channel, { cursor: subscribed.cursor });

    const old: Delivery[] = [];
    for (let i = 1; i <= 4; i++) {
      const res = await publishRaw(i % 2 === 0 ? a.url : b.url, channel, `old ${i}`);
      expect(res.body).toEqual({ channel, epoch: start.epoch, offset: i });
      old.push({ type: 'message', epoch: start.epoch, offset: i, data: `old ${i}` });
    }
    await ws.waitForMessages(4, channel);
    await sse.waitForMessages(4);
    expect((await poller.pollOnce()).messages.map(toDelivery)).toEqual(old);

    expect(await members()).toBe(2);

    await redis.stop();
    await redis.start();
    for (const node of [a, b]) await waitUntil(async () => (await health(node.url)).status === 200, `${node.url} to reconnect`, 5000);
    // The members went with the data; each node stamps its own again (every third of the TTL).
    await waitUntil(async () => (await members()) === 2, 'both members to be listed again', 2000);

    const fresh: Delivery[] = [];
    let epoch: string | undefined;
    for (let i = 1; i <= 3; i++) {
      const res = await publishRaw(i % 2 === 0 ? a.url : b.url, channel, `new ${i}`);
      epoch ??= res.body.epoch as string;
      expect(res.body).toEqual({ channel, epoch, offset: i });
      fresh.push({ type: 'message', epoch, offset: i, data: `new ${i}` });
    }
    expect(epoch).not.toBe(start.epoch);
    const gap: Delivery = {
      type: 'gap',
      channel,
      reason: 'epoch',
      requested: { epoch: start.epoch, offset: 4 },
      resumed: { epoch: epoch!, offset: 0 },
    };

    await ws.waitForMessages(7, channel);
    await sse.waitForMessages(7);
    const polled = await poller.pollOnce();
    expect(wsDeliveries(ws, channel)).toEqual([...old, gap, ...fresh]);
    expect(sseDeliveries(sse, channel)).toEqual([...old, gap, ...fresh]);
    expect(poller.deliveries.items).toEqual([...old, gap, ...fresh]);
    expect(polled.gaps).toHaveLength(1);
    // The same gap object on every transport; nothing silently skipped.
    for (const [who, deliveries] of [
      ['WebSocket', wsDeliveries(ws, channel)],
      ['SSE', sseDeliveries(sse, channel)],
      ['poller', poller.deliveries.items],
    ] as const) {
      checkNoSilentHole(deliveries, start, who);
    }
  });
});

describe('lost live messages are repaired from the log', () => {
  it('pub/sub connections killed while another node publishes: every subscriber gets every message once, no gap', async () => {
    const redis = own(await startRedisServer(), (r) => r.close());
    const admin = own(await adminClient(redis.url), (c) => c.destroy());
    // No periodic check: only the reconnect check and the live path's own hole detection repair.
    const a = own(await startRedisHub({ url: redis.url, positionCheckInterval: 0 }), (h) => h.close());
    const c = own(await startRedisHub({ url: redis.url, positionCheckInterval: 0 }), (h) => h.close());
    const b = own(await startRedisHub({ url: redis.url, positionCheckInterval: 0 }), (h) => h.close());
    const channel = 'kill';
    const subscribers = (): Promise<number> => liveSubscribers(admin, channel);
    // Every node's pub/sub connection that is subscribed to anything (A and C, and B if it listens
    // to more than channels): what `CLIENT KILL TYPE pubsub` must cut each time.
    const pubsubConnections = async (): Promise<number> =>
      (await admin.sendCommand<string>(['CLIENT', 'LIST', 'TYPE', 'pubsub'])).split('\n').filter((l) => l.includes('name=herald-pubsub'))
        .length;

    const ws = own(await WsTestClient.connect(a.wsUrl), (x) => x.close());
    const start = (await ws.request({ type: 'subscribe', channel })).position as Position;
    const sse = own(await SseTestClient.connect(`${c.url}/events?channel=${channel}`), (x) => x.close());
    await sse.ready();
    expect(await subscribers()).toBe(2);
    const connections = await pubsubConnections();
    expect(connections).toBeGreaterThanOrEqual(2);

    const acks: Ack[] = [];
    const publish = async (n: number): Promise<void> => {
      const result = await b.server.hub.publish(channel, { n });
      acks.push({ epoch: result.epoch, offset: result.offset, data: { n } });
    };
    let n = 0;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        await publish(++n);
        await sleep(2);
      }
    })();
    try {
      await waitUntil(() => acks.length >= 20, '20 publishes');
      for (let round = 1; round <= 3; round++) {
        expect(await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub'])).toBe(connections);
        const mark = acks.length;
        await waitUntil(
          async () => (await subscribers()) === 2 && (await pubsubConnections()) === connections && acks.length >= mark + 20,
          `round ${round}: resubscribed and 20 more publishes`,
        );
      }
    } finally {
      publishing = false;
      await publisher;
    }

    // Then a loss nothing follows on the live path: the subscribers cannot come back (new
    // connections are refused while the default user is off; open ones keep working) until the
    // last message is published, so only the reconnect check can deliver these.
    await admin.sendCommand(['ACL', 'SETUSER', 'default', 'off']);
    try {
      expect(await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub'])).toBe(connections);
      for (let i = 0; i < 10; i++) await publish(++n);
      expect(await subscribers()).toBe(0);
    } finally {
      await admin.sendCommand(['ACL', 'SETUSER', 'default', 'on']);
    }
    const last = acks.at(-1)!.offset;
    await ws.frames.until(() => lastOffset(wsDeliveries(ws, channel)) >= last, `WebSocket client to reach offset ${last}`, 5000);
    await sse.events.until(() => lastOffset(sseDeliveries(sse, channel)) >= last, `SSE client to reach offset ${last}`, 5000);

    for (const [who, deliveries] of [
      ['WebSocket on node A', wsDeliveries(ws, channel)],
      ['SSE on node C', sseDeliveries(sse, channel)],
    ] as const) {
      const { messages, gaps } = checkNoSilentHole(deliveries, start, who);
      expect(gaps, who).toEqual([]);
      expect(messages, who).toEqual(acks);
    }
  });

  it('a live message dropped at the tail of a quiet channel is repaired by the periodic position check', async () => {
    const redis = own(await startRedisServer(), (r) => r.close());
    const proxy = own(await RedisFaultProxy.start(redis.url), (p) => p.close());
    const a = own(await startRedisHub({ url: proxy.url, presenceUrl: redis.url, positionCheckInterval: 200 }), (h) => h.close());
    const b = own(await startRedisHub({ url: redis.url, positionCheckInterval: 0 }), (h) => h.close());
    const channel = 'quiet';
    const ws = own(await WsTestClient.connect(a.wsUrl), (x) => x.close());
    const start = (await ws.request({ type: 'subscribe', channel })).position as Position;

    const acks: Ack[] = [];
    for (let i = 1; i <= 2; i++) acks.push({ ...(await b.server.hub.publish(channel, i)), data: i });
    await ws.waitForMessages(2, channel);
    // The connection stays up; only the push is lost, and nothing is published after it.
    proxy.dropPushes = (name) => name === live(channel);
    acks.push({ ...(await b.server.hub.publish(channel, 3)), data: 3 });
    await waitUntil(() => proxy.dropped === 1, 'the push of offset 3 to be dropped', 2000);
    const lostAt = Date.now();
    await ws.waitForMessages(3, channel, 3000);
    expect(Date.now() - lostAt).toBeLessThan(1000);
    expect(proxy.dropped).toBe(1);
    const { messages, gaps } = checkNoSilentHole(wsDeliveries(ws, channel), start, 'WebSocket on node A');
    expect(gaps).toEqual([]);
    expect(messages).toEqual(acks.map(({ epoch, offset, data }) => ({ epoch, offset, data })));
  });

  it('a partitioned node whose pub/sub connection returns before its command connection still repairs what it missed', async () => {
    const redis = own(await startRedisServer(), (r) => r.close());
    const admin = own(await adminClient(redis.url), (c) => c.destroy());
    const proxy = own(await RedisFaultProxy.start(redis.url), (p) => p.close());
    // No periodic check: the reconnect check alone must repair the tail.
    const a = own(await startRedisHub({ url: proxy.url, presenceUrl: redis.url, positionCheckInterval: 0 }), (h) => h.close());
    const b = own(await startRedisHub({ url: redis.url, positionCheckInterval: 0 }), (h) => h.close());
    const channel = 'partition';
    const ws = own(await WsTestClient.connect(a.wsUrl), (x) => x.close());
    const start = (await ws.request({ type: 'subscribe', channel })).position as Position;
    const acks: Ack[] = [{ ...(await b.server.hub.publish(channel, 1)), data: 1 }];
    await ws.waitForMessages(1, channel);

    // Node A is cut off from Redis; node B keeps publishing.
    proxy.refuse = () => true;
    proxy.cut();
    await waitUntil(async () => (await health(a.url)).status === 503, 'node A to notice the partition', 5000);
    for (let i = 2; i <= 3; i++) acks.push({ ...(await b.server.hub.publish(channel, i)), data: i });
    // The partition heals for the pub/sub connection first: node A resubscribes (and checks its
    // channels) while its command connection is still refused.
    proxy.refuse = (handshake) => handshake.includes('herald-commands');
    const subscribers = (): Promise<number> => liveSubscribers(admin, channel);
    await waitUntil(async () => (await subscribers()) === 1, 'node A to resubscribe', 5000);
    expect((await health(a.url)).status).toBe(503);
    proxy.refuse = undefined;
    await waitUntil(async () => (await health(a.url)).status === 200, 'node A to reconnect its command connection', 5000);

    await ws.waitForMessages(3, channel, 3000);
    const { messages, gaps } = checkNoSilentHole(wsDeliveries(ws, channel), start, 'WebSocket on node A');
    expect(gaps).toEqual([]);
    expect(messages).toEqual(acks.map(({ epoch, offset, data }) => ({ epoch, offset, data })));
  });
});

describe('presence across nodes', () => {
  it('a node killed with SIGKILL loses its members from GET /api/presence within the member TTL', async () => {
    const memberTtl = 1;
    const redis = own(await startRedisServer(), (r) => r.close());
    const doomed = own(await startNodeProcess(redis.url, memberTtl), (p) => p.kill());
    const survivor = own(await startRedisHub({ url: redis.url, memberTtl }), (h) => h.close());
    const channel = 'room';
    const members = async (): Promise<string[]> => {
      const res = await fetch(`${survivor.url}/api/presence?channel=${channel}`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { members: { client: string }[] }).members.map((m) => m.client).sort();
    };

    const local = own(await WsTestClient.connect(survivor.wsUrl), (x) => x.close());
    await local.request({ type: 'subscribe', channel });
    const own1 = await members();
    expect(own1).toHaveLength(1);
    const remoteWs = own(await WsTestClient.connect(`${doomed.url.replace('http', 'ws')}/ws`), (x) => x.close());
    await remoteWs.request({ type: 'subscribe', channel });
    const remoteSse = own(await SseTestClient.connect(`${doomed.url}/events?channel=${channel}`), (x) => x.close());
    await remoteSse.ready();
    await waitUntil(async () => (await members()).length === 3, "the other node's two members to be listed");
    // Listed for longer than the TTL while their node lives: it refreshes them.
    await sleep(memberTtl * 1000 * 1.5);
    expect(await members()).toHaveLength(3);

    doomed.kill();
    await doomed.exited;
    const killedAt = Date.now();
    await waitUntil(async () => JSON.stringify(await members()) === JSON.stringify(own1), "the dead node's members to expire", 5000);
    // Gone within the TTL of their last refresh (which came before the kill), plus one read.
    expect(Date.now() - killedAt).toBeLessThan(memberTtl * 1000 + 300);
    expect((await remoteWs.closed).code).toBe(1006);
    // The living node's member is refreshed, not swept with them.
    await sleep(memberTtl * 1000 * 1.5);
    expect(await members()).toEqual(own1);
  });
});
