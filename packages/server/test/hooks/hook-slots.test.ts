import { ErrorCode } from '@herald/protocol';
import { SseTestClient, startHookApp, startTestHub, WsTestClient, type HookApp, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * Hook slots are kept per hook and app origin (a slow app does not hold the slots of another),
 * and one poll or SSE request has at most 8 subscribe hook calls in flight at once.
 */

const SECRET = 'hook-secret-of-at-least-16';

const apps: HookApp[] = [];
let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
  for (const app of apps.splice(0)) await app.close();
});

/** A real app answering with `answer` (its latency is the answer's). */
async function app(answer: () => unknown): Promise<HookApp> {
  const started = await startHookApp(SECRET, answer);
  apps.push(started);
  return started;
}
const after = (ms: number, value: unknown): Promise<unknown> => new Promise((resolve) => setTimeout(() => resolve(value), ms));
const channels = (prefix: string, n: number): string => Array.from({ length: n }, (_, i) => `channel=${prefix}:${i}`).join('&');

describe('hook calls of one request', () => {
  it('a poll of 20 hooked channels has at most 8 calls in flight, and every channel is asked', async () => {
    const slow = await app(() => after(20, { allow: true }));
    hub = await startTestHub({ hooks: { secrets: [SECRET], subscribe: slow.url } });
    expect((await fetch(`${hub.url}/api/messages?${channels('room', 20)}`)).status).toBe(200);
    expect(slow.requests.items).toHaveLength(20);
    expect(slow.maxInFlight).toBe(8);
  });

  it('an SSE stream of 20 hooked channels: the same', async () => {
    const slow = await app(() => after(20, { allow: true }));
    hub = await startTestHub({ hooks: { secrets: [SECRET], subscribe: slow.url } });
    const stream = await SseTestClient.connect(`${hub.url}/events?${channels('room', 20)}`);
    expect(stream.response.statusCode).toBe(200);
    await stream.ready();
    await stream.close();
    expect(slow.requests.items).toHaveLength(20);
    expect(slow.maxInFlight).toBe(8);
  });

  it('a poll stops asking after the first refusal', async () => {
    const denying = await app(() => ({ allow: false, reason: 'no' }));
    hub = await startTestHub({ hooks: { secrets: [SECRET], subscribe: denying.url } });
    const res = await fetch(`${hub.url}/api/messages?${channels('room', 40)}`);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(ErrorCode.Forbidden);
    // The first 8 were in flight together; none started after a refusal came back.
    expect(denying.requests.items).toHaveLength(8);
  });
});

describe('hook slots per app origin', () => {
  it('a namespace whose app never answers does not hold the slots of another namespace’s app', async () => {
    const stuck = await app(() => new Promise(() => undefined));
    const healthy = await app(() => ({ allow: true }));
    hub = await startTestHub({
      hooks: {
        secrets: [SECRET],
        timeout: 1000,
        concurrency: 2,
        maxQueued: 1,
        namespaces: { slow: { subscribe: stuck.url }, fast: { subscribe: healthy.url } },
      },
    });
    const client = await WsTestClient.connect(hub.wsUrl);
    const held = [1, 2, 3].map((n) => client.request({ type: 'subscribe', channel: `slow:${n}` }));
    await stuck.requests.until(() => stuck.requests.items.length === 2, 'two calls in flight');
    // The stuck app's pool is full (2 in flight, 1 waiting): its next call is refused at once…
    const busy = await client.request({ type: 'subscribe', channel: 'slow:4' });
    expect(busy.error).toEqual({ code: ErrorCode.HookUnavailable, message: 'the subscribe hook has too many calls waiting' });
    // …while the healthy app's calls go through.
    expect((await client.request({ type: 'subscribe', channel: 'fast:lobby' })).error).toBeUndefined();
    expect(healthy.requests.items.map((r) => r.body.channel)).toEqual(['fast:lobby']);
    for (const reply of await Promise.all(held)) expect(reply.error.code).toBe(ErrorCode.HookUnavailable);
    await client.close();
  });
});
