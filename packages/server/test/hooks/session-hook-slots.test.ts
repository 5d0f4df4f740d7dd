import { startHookApp, startTestHub, WsTestClient, type HookApp, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * One WebSocket session has at most 8 hook calls in flight at once (like a poll or an SSE
 * request): its other hooked commands wait their turn, and are all answered.
 */

const SECRET = 'hook-secret-of-at-least-16';

let app: HookApp | undefined;
let hub: TestHub | undefined;
const clients: WsTestClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  await hub?.close();
  hub = undefined;
  await app?.close();
  app = undefined;
});

const after = (ms: number, value: unknown): Promise<unknown> => new Promise((resolve) => setTimeout(() => resolve(value), ms));

async function session(h: TestHub): Promise<WsTestClient> {
  const client = await WsTestClient.connect(h.wsUrl);
  clients.push(client);
  return client;
}

describe('hook calls of one WebSocket session', () => {
  it('64 pipelined hooked subscribes: at most 8 at the app at once, all allowed', async () => {
    app = await startHookApp(SECRET, () => after(20, { allow: true }));
    hub = await startTestHub({ hooks: { secrets: [SECRET], subscribe: app.url } });
    const ws = await session(hub);
    const replies = await Promise.all(
      Array.from({ length: 64 }, (_, i) => ws.request({ type: 'subscribe', channel: `room:${i}` }, 20_000)),
    );
    expect(replies.filter((r: { error?: unknown }) => r.error !== undefined)).toEqual([]);
    expect(app.requests.items).toHaveLength(64);
    expect(app.maxInFlight).toBe(8);
  });

  it('publishes and rpc calls share the 8 slots', async () => {
    app = await startHookApp(SECRET, (request) => after(20, request.path.includes('rpc') ? { allow: true, data: 1 } : { allow: true }));
    hub = await startTestHub({ hooks: { secrets: [SECRET], publish: app.url, rpc: app.url } });
    const ws = await session(hub);
    const replies = await Promise.all([
      ...Array.from({ length: 16 }, (_, i) => ws.request({ type: 'publish', channel: `room:${i}`, data: i }, 20_000)),
      ...Array.from({ length: 16 }, () => ws.request({ type: 'rpc', method: 'ping', data: null }, 20_000)),
    ]);
    expect(replies.filter((r: { error?: unknown }) => r.error !== undefined)).toEqual([]);
    expect(app.requests.items).toHaveLength(32);
    expect(app.maxInFlight).toBe(8);
  });

  it('a session whose 64 subscribes the app holds leaves slots for another client of the same app', async () => {
    const held: (() => void)[] = [];
    app = await startHookApp(SECRET, (request) => {
      const channel = String(request.body['channel']);
      if (!channel.startsWith('slow:')) return { allow: true };
      return new Promise((resolve) => held.push(() => resolve({ allow: true })));
    });
    hub = await startTestHub({ hooks: { secrets: [SECRET], subscribe: app.url, concurrency: 16, timeout: 10_000 } });
    const greedy = await session(hub);
    const pending = Array.from({ length: 64 }, (_, i) => greedy.request({ type: 'subscribe', channel: `slow:${i}` }, 20_000));
    await app.requests.count(8);
    const other = await session(hub);
    const started = performance.now();
    expect(await other.request({ type: 'subscribe', channel: 'room:lobby' })).toMatchObject({ type: 'reply', channel: 'room:lobby' });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(app.requests.items.filter((r) => String(r.body['channel']).startsWith('slow:'))).toHaveLength(8);
    // Released, the greedy session's subscribes are all answered, 8 at a time.
    const release = setInterval(() => held.splice(0).forEach((r) => r()), 5);
    try {
      const replies = await Promise.all(pending);
      expect(replies.filter((r: { error?: unknown }) => r.error !== undefined)).toEqual([]);
    } finally {
      clearInterval(release);
    }
    // The greedy session's 8 and the other client's one.
    expect(app.maxInFlight).toBeLessThanOrEqual(9);
  });
});
