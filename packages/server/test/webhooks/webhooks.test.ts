import { ErrorCode, type WebhookEvent } from '@herald/protocol';
import { MemoryWebhookQueue, resolveWebhooks, silentLogger, systemClock, WebhookDispatcher } from '@herald/server';
import { startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { webhookTestbed } from './webhook-testbed.js';

const SECRET = 'webhook-test-secret-0123456789';

const { own, app, hub, closeAll } = webhookTestbed(SECRET);
afterEach(closeAll);

const occupied = (channel: string) => ({ type: 'channel_occupied', channel }) as const;

async function metric(h: TestHub, line: string): Promise<number | undefined> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe('webhooks: delivery', () => {
  it('POSTs signed batches of at most batchSize events, each event once, oldest first', async () => {
    const a = await app();
    const h = await hub({ url: a.url, batchSize: 40 });
    const sink = h.server.herald.hub.webhooks!;
    await Promise.all(Array.from({ length: 250 }, (_, i) => sink.emit({ ...occupied(`b:${i}`), time: 1_700_000_000_000 + i })));
    await a.deliveries.until((all) => all.flatMap((d) => d.events).length >= 250, '250 events');
    const deliveries = a.deliveries.items;
    expect(a.unsigned()).toBe(0);
    expect(deliveries.every((d) => d.status === 200)).toBe(true);
    expect(deliveries.length).toBeGreaterThanOrEqual(7);
    expect(Math.max(...deliveries.map((d) => d.events.length))).toBeLessThanOrEqual(40);
    const events = deliveries.flatMap((d) => d.events);
    expect(events.map((e) => (e as { channel: string }).channel)).toEqual(Array.from({ length: 250 }, (_, i) => `b:${i}`));
    expect(new Set(events.map((e) => e.id)).size).toBe(250);
    expect(events[0]).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      type: 'channel_occupied',
      channel: 'b:0',
      time: 1_700_000_000_000,
    });
  });

  it('splits a batch past maxBatchBytes; sends only the configured event types', async () => {
    const a = await app();
    const h = await hub({ url: a.url, maxBatchBytes: 3000, events: ['client_publish'] });
    const sink = h.server.herald.hub.webhooks!;
    expect(sink.wants('client_publish')).toBe(true);
    expect(sink.wants('channel_occupied')).toBe(false);
    const data = 'x'.repeat(1000);
    const publish = (i: number) =>
      sink.emit({ type: 'client_publish', channel: 'p:1', user: null, client: 'c1', data: { i, data }, epoch: 'e', offset: i + 1 });
    await Promise.all([sink.emit(occupied('skipped')), ...Array.from({ length: 6 }, (_, i) => publish(i))]);
    await a.deliveries.until((all) => all.flatMap((d) => d.events).length >= 6, '6 events');
    expect(a.deliveries.items.map((d) => d.events.length)).toEqual([2, 2, 2]);
    expect(a.deliveries.items.flatMap((d) => d.events.map((e) => e.type))).not.toContain('channel_occupied');
  });

  it('retries with the same id until the app recovers', async () => {
    const a = await app();
    let failures = 0;
    a.answer(() => (failures++ < 4 ? 500 : 200));
    const h = await hub({ url: a.url, retryBase: 20, maxAttempts: 10 });
    await h.server.herald.hub.webhooks!.emit(occupied('r:1'));
    await a.deliveries.until((all) => all.some((d) => d.status === 200), 'a 200');
    const attempts = a.deliveries.items;
    expect(attempts.map((d) => d.status)).toEqual([500, 500, 500, 500, 200]);
    expect(new Set(attempts.map((d) => d.events.map((e) => e.id).join(','))).size).toBe(1);
    expect(a.delivered()).toHaveLength(1);
    expect(await metric(h, 'herald_webhook_events_total{outcome="queued"}')).toBe(1);
    expect(await metric(h, 'herald_webhook_events_total{outcome="retried"}')).toBe(4);
    expect(await metric(h, 'herald_webhook_events_total{outcome="delivered"}')).toBe(1);
    expect(await metric(h, 'herald_webhook_queue_depth{state="queued"}')).toBe(0);
    expect(await metric(h, 'herald_webhook_delivery_seconds_count{result="failed"}')).toBe(4);
    expect(await metric(h, 'herald_webhook_delivery_seconds_count{result="ok"}')).toBe(1);
  });

  it('backs off exponentially between attempts (the jitter drawn at its top)', async () => {
    const a = await app();
    a.answer((d) => (a.deliveries.items.length < 5 && d.events.length > 0 ? 503 : 200));
    const queue = new MemoryWebhookQueue();
    const options = resolveWebhooks({ url: a.url, secrets: [SECRET], retryBase: 50, pollInterval: 5 });
    const dispatcher = new WebhookDispatcher(options, {
      queue,
      node: 'n1',
      clock: systemClock,
      logger: silentLogger,
      random: () => 0.9999,
    });
    dispatcher.start();
    own(dispatcher);
    await dispatcher.emit(occupied('x:1'));
    await a.deliveries.count(6);
    const at = a.deliveries.items.map((d) => d.at);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    // 50, 100, 200, 400, 800 ms, each plus at most a poll interval and the request's own time.
    [50, 100, 200, 400, 800].forEach((expected, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(expected - 2);
      expect(gaps[i]).toBeLessThan(expected + 60);
    });
  });

  it('drops new events once maxQueued are queued, and counts them', async () => {
    const a = await app();
    a.answer(() => 503);
    const h = await hub({ url: a.url, maxQueued: 5, retryBase: 60_000 });
    const sink = h.server.herald.hub.webhooks!;
    for (let i = 0; i < 5; i++) await sink.emit(occupied(`q:${i}`));
    await sink.emit(occupied('q:over'));
    expect(await metric(h, 'herald_webhook_events_total{outcome="queued"}')).toBe(5);
    expect(await metric(h, 'herald_webhook_events_total{outcome="dropped"}')).toBe(1);
    expect(await metric(h, 'herald_webhook_queue_depth{state="queued"}')).toBe(5);
  });

  it('an unreachable app is retried too, with the reason kept', async () => {
    const a = await app();
    const url = a.url;
    await a.close();
    const h = await hub({ url, retryBase: 5, maxAttempts: 2 }, true);
    await h.server.herald.hub.webhooks!.emit(occupied('u:1'));
    const dead = await waitForDead(h, 1);
    expect(dead.deadLetters[0]).toMatchObject({ attempts: 2, lastError: expect.stringMatching(/^unreachable: /) });
  });
});

interface AdminWebhooks {
  queued: number;
  dead: number;
  deadLetters: { event: WebhookEvent; attempts: number; lastError: string; diedAt: number; seq: number }[];
  next: number | null;
}

async function admin(h: TestHub, query = ''): Promise<AdminWebhooks> {
  const res = await fetch(`${h.url}/api/admin/webhooks${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as AdminWebhooks;
}

async function waitForDead(h: TestHub, n: number): Promise<AdminWebhooks> {
  for (let i = 0; i < 500; i++) {
    const body = await admin(h);
    if (body.dead >= n) return body;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no ${n} dead letters`);
}

async function replay(h: TestHub, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${h.url}/api/admin/webhooks/replay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

describe('webhooks: dead letters', () => {
  it('after maxAttempts: listed by the admin API and in /metrics; a replay delivers them', async () => {
    const a = await app();
    a.answer(() => 500);
    const h = await hub({ url: a.url, retryBase: 5, maxAttempts: 3 }, true);
    const sink = h.server.herald.hub.webhooks!;
    await sink.emit(occupied('d:1'));
    await sink.emit(occupied('d:2'));
    await sink.emit(occupied('d:3'));
    const dead = await waitForDead(h, 3);
    expect(a.deliveries.items.flatMap((d) => d.events.map((e) => e.id))).toHaveLength(9);
    expect(dead).toMatchObject({ queued: 0, dead: 3, next: null });
    expect(dead.deadLetters.map((l) => (l.event as { channel: string }).channel).sort()).toEqual(['d:1', 'd:2', 'd:3']);
    expect(dead.deadLetters[0]).toMatchObject({ attempts: 3, lastError: 'HTTP 500: the app failed', diedAt: expect.any(Number) });
    expect(await metric(h, 'herald_webhook_events_total{outcome="dead"}')).toBe(3);
    expect(await metric(h, 'herald_webhook_queue_depth{state="dead"}')).toBe(3);

    // Paged: two, then the rest after `next`.
    const first = await admin(h, '?limit=2');
    expect(first.deadLetters).toHaveLength(2);
    const rest = await admin(h, `?limit=2&after=${first.next}`);
    expect([...first.deadLetters, ...rest.deadLetters].map((l) => l.event.id)).toEqual(dead.deadLetters.map((l) => l.event.id));
    expect(rest.next).toBeNull();

    a.answer(() => 200);
    const one = dead.deadLetters[0]!.event.id;
    expect(await replay(h, { ids: [one, 'not-an-id'] })).toEqual({ status: 200, body: { replayed: 1 } });
    await a.deliveries.until(() => a.delivered().includes(one), 'the replayed event');
    expect(await replay(h, { all: true })).toEqual({ status: 200, body: { replayed: 2 } });
    await a.deliveries.until(() => a.delivered().length === 3, 'every replayed event');
    expect(new Set(a.delivered())).toEqual(new Set(dead.deadLetters.map((l) => l.event.id)));
    expect(await admin(h)).toMatchObject({ queued: 0, dead: 0, deadLetters: [] });
    expect(await metric(h, 'herald_webhook_events_total{outcome="replayed"}')).toBe(3);
    expect(await metric(h, 'herald_webhook_queue_depth{state="dead"}')).toBe(0);
  });

  it('refuses a bad replay body or page with a clear error', async () => {
    const a = await app();
    const h = await hub({ url: a.url }, true);
    expect(await replay(h, 'nope')).toMatchObject({ status: 400, body: { error: { code: ErrorCode.InvalidJson } } });
    for (const body of [{}, { ids: [] }, { ids: 'x' }, { all: false }, { all: true, ids: ['a'] }, [1]])
      expect(await replay(h, body)).toMatchObject({ status: 400, body: { error: { code: ErrorCode.InvalidField } } });
    expect(await replay(h, { ids: [7] })).toMatchObject({ status: 400, body: { error: { code: ErrorCode.InvalidField } } });
    const res = await fetch(`${h.url}/api/admin/webhooks?after=x`);
    expect(res.status).toBe(400);
  });

  it('needs the admin credentials', async () => {
    const a = await app();
    const h = await startTestHub({
      webhooks: { url: a.url, secrets: [SECRET] },
      admin: true,
      security: { apiKeys: ['an-api-key-0123456789'] },
    });
    own(h);
    expect((await fetch(`${h.url}/api/admin/webhooks`)).status).toBe(401);
    expect((await fetch(`${h.url}/api/admin/webhooks`, { headers: { 'x-herald-key': 'an-api-key-0123456789' } })).status).toBe(200);
  });
});

describe('webhooks: options and close', () => {
  it('refuses bad options with a clear message', () => {
    const base = { url: 'http://127.0.0.1:1/x', secrets: [SECRET] };
    expect(() => resolveWebhooks({ ...base, url: 'ftp://x' })).toThrow('webhooks.url must be an http(s) URL');
    expect(() => resolveWebhooks({ ...base, secrets: ['short'] })).toThrow(
      'webhooks.secrets must list at least one secret of 16 or more characters',
    );
    expect(() => resolveWebhooks({ ...base, events: ['nope' as never] })).toThrow('webhooks.events must list event types among');
    expect(() => resolveWebhooks({ ...base, batchSize: 0 })).toThrow('webhooks.batchSize must be an integer from 1 to 1000');
    expect(() => resolveWebhooks({ ...base, timeout: 5000, lease: 5000 })).toThrow('webhooks.lease must be more than webhooks.timeout');
    expect(() => resolveWebhooks({ ...base, retryBase: 10, retryMax: 5 })).toThrow('webhooks.retryMax must be at least webhooks.retryBase');
    expect(resolveWebhooks(base)).toMatchObject({
      batchSize: 100,
      maxAttempts: 10,
      retryBase: 1000,
      retryMax: 300_000,
      timeout: 10_000,
      lease: 30_000,
      presenceDebounce: 5000,
    });
  });

  it('close stores what was emitted, aborts a request in flight and releases its events', async () => {
    const a = await app();
    a.answer(() => 'hold');
    const queue = new MemoryWebhookQueue();
    const options = resolveWebhooks({ url: a.url, secrets: [SECRET], pollInterval: 10 });
    const dispatcher = new WebhookDispatcher(options, { queue, node: 'n1', clock: systemClock, logger: silentLogger });
    dispatcher.start();
    await dispatcher.emit(occupied('c:1'));
    await a.deliveries.count(1);
    expect(await queue.counts()).toEqual({ queued: 1, leased: 1, dead: 0 });
    const second = dispatcher.emit(occupied('c:2'));
    await dispatcher.close();
    await second;
    // c:1 released (due at once, attempts unchanged), c:2 stored: nothing lost, nothing leased.
    expect(await queue.counts()).toEqual({ queued: 2, leased: 0, dead: 0 });
    expect((await queue.claim('n2', 10, 1000, Date.now())).map((w) => [(w.event as { channel: string }).channel, w.attempts])).toEqual([
      ['c:1', 0],
      ['c:2', 0],
    ]);
    // After close, emit is a no-op that still resolves.
    await dispatcher.emit(occupied('c:3'));
    expect(await queue.counts()).toMatchObject({ queued: 2 });
  });
});

describe('webhooks: the hub’s own events, end to end', () => {
  it('a client’s subscribe, publish and close reach the app through the queue (webhooks.presenceDebounce carried)', async () => {
    const a = await app();
    const h = await hub({ url: a.url, presenceDebounce: 0 });
    const client = await WsTestClient.connect(h.wsUrl);
    await client.request({ type: 'subscribe', channel: 'e2e' });
    await client.request({ type: 'publish', channel: 'e2e', data: { n: 1 } });
    await client.close();
    const types = ['channel_occupied', 'presence_join', 'client_publish', 'connection_closed', 'presence_leave', 'channel_vacated'];
    await a.deliveries.until((all) => types.every((t) => all.some((d) => d.events.some((e) => e.type === t))), 'every event type');
    const events = a.deliveries.items.flatMap((d) => d.events);
    expect(events.find((e) => e.type === 'client_publish')).toMatchObject({ channel: 'e2e', data: { n: 1 }, offset: 1 });
    expect(events.find((e) => e.type === 'connection_closed')).toMatchObject({ transport: 'websocket', reason: 'client' });
    expect(a.unsigned()).toBe(0);
  });
});
