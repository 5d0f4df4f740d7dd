import { CloseCode, ErrorCode } from '@herald/protocol';
import {
  eventually,
  ManualClock,
  SseTestClient,
  startHookApp,
  startTestHub,
  WsTestClient,
  type HookApp,
  type HookAppRequest,
  type TestHub,
} from '@herald/testkit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/**
 * The refresh hook is asked ahead of a hooked connection's expiry: at a random moment between
 * min(10 % of the lifetime left, 30 s) and half that before `expiresAt`, and, when it cannot
 * decide (3003), again after 1 s, 2 s, 4 s… (× 0.5–1.5) while before `expiresAt`. Only at
 * `expiresAt` without a successful refresh does the connection end. The hub's clock and its
 * setTimeout are the test's; Math.random is pinned to 0.5 (lead × 0.75, backoff × 1).
 */

const SECRET = 'hook-secret-of-at-least-16';
const LIFETIME = 100_000; // lead: min(10 s, 30 s) = 10 s; first call 7.5 s before expiry.

let clock: ManualClock;
let app: HookApp | undefined;
let hub: TestHub | undefined;

beforeEach(() => {
  clock = new ManualClock();
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
});
afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  await hub?.close();
  await app?.close();
  hub = app = undefined;
});

/** Moves the hub's clock and its timers together. */
function advance(ms: number): void {
  clock.advance(ms);
  vi.advanceTimersByTime(ms);
}

/** A hub whose connect hook gives `alice` LIFETIME ms; the refresh hook answers `refresh(n)` to its n-th call (from 1). */
async function start(refresh: (n: number) => Record<string, unknown> | 'fail'): Promise<{ expiresAt: number }> {
  const expiresAt = clock.now() + LIFETIME;
  let calls = 0;
  app = await startHookApp(SECRET, (request: HookAppRequest, res) => {
    if (request.path === '/connect') return { allow: true, user: 'alice', grants: { subscribe: ['room:*'] }, expiresAt: expiresAt / 1000 };
    const answer = refresh(++calls);
    if (answer !== 'fail') return answer;
    res.writeHead(500).end();
    return undefined;
  });
  hub = await startTestHub({ clock, hooks: { secrets: [SECRET], connect: `${app.url}/connect`, refresh: `${app.url}/refresh` } });
  return { expiresAt };
}

const refreshCalls = (): HookAppRequest[] => app!.requests.items.filter((r) => r.path === '/refresh');

/** The refresh calls the hub has seen fail (the metrics count them once the hub has the answer). */
async function failedRefreshes(n: number): Promise<void> {
  await eventually(async () => {
    const text = await (await fetch(`${hub!.url}/metrics`)).text();
    return new RegExp(`^herald_hook_calls_total\\{hook="refresh",outcome="invalid"\\} ${n}$`, 'm').test(text);
  }, `${n} failed refreshes`);
}

describe('refresh ahead of expiry', () => {
  it('WebSocket: asked 7.5 s before expiry, retried after 1 s and 2 s, extended by the third call, open past the first expiry', async () => {
    const { expiresAt } = await start((n) => (n < 3 ? 'fail' : { allow: true, expiresAt: (expiresAt + LIFETIME) / 1000 }));
    const client = await WsTestClient.connect(hub!.wsUrl);
    expect((await client.request({ type: 'subscribe', channel: 'room:1' })).error).toBeUndefined();
    advance(LIFETIME - 7_501);
    expect((await client.request({ type: 'ping' })).error).toBeUndefined();
    expect(refreshCalls()).toHaveLength(0);
    advance(1);
    await app!.requests.until(() => refreshCalls().length === 1, 'the first refresh');
    expect(refreshCalls()[0]!.body.time).toBe(expiresAt - 7_500);
    await failedRefreshes(1);
    advance(999);
    expect(refreshCalls()).toHaveLength(1);
    advance(1);
    await app!.requests.until(() => refreshCalls().length === 2, 'the second refresh');
    await failedRefreshes(2);
    advance(2_000);
    await app!.requests.until(() => refreshCalls().length === 3, 'the third refresh');
    expect(refreshCalls().map((r) => r.body.time)).toEqual([expiresAt - 7_500, expiresAt - 6_500, expiresAt - 4_500]);
    await eventually(
      async () => (await (await fetch(`${hub!.url}/metrics`)).text()).includes('herald_hook_calls_total{hook="refresh",outcome="allow"} 1'),
      'the allow',
    );
    // Extended: past the first expiry the session is open and receives.
    advance(5_000);
    expect((await client.request({ type: 'ping' })).error).toBeUndefined();
    await hub!.server.hub.publish('room:1', 'still here');
    expect((await client.waitForMessages(1)).map((m) => m.data)).toEqual(['still here']);
    await client.close();
  });

  it('WebSocket: a hook that keeps failing is retried while before the expiry; the session closes at the expiry, not before', async () => {
    const { expiresAt } = await start(() => 'fail');
    const client = await WsTestClient.connect(hub!.wsUrl);
    advance(LIFETIME - 7_500);
    for (const [n, next] of [
      [1, 1_000],
      [2, 2_000],
      [3, 4_000],
    ] as const) {
      await failedRefreshes(n);
      advance(next);
    }
    await failedRefreshes(4);
    // The next retry (8 s) would be past the expiry: none is made.
    advance(499);
    expect((await client.request({ type: 'ping' })).error).toBeUndefined();
    advance(1);
    expect(await client.closed).toEqual({ code: CloseCode.TokenExpired, reason: 'token expired: the refresh hook is unavailable' });
    expect(refreshCalls().map((r) => r.body.time)).toEqual([expiresAt - 7_500, expiresAt - 6_500, expiresAt - 4_500, expiresAt - 500]);
  });

  it('WebSocket: a denial closes the session at once, ahead of the expiry', async () => {
    await start(() => ({ allow: false, reason: 'revoked' }));
    const client = await WsTestClient.connect(hub!.wsUrl);
    advance(LIFETIME - 7_500);
    expect(await client.closed).toEqual({ code: CloseCode.TokenExpired, reason: 'token expired: the app refused to extend it' });
  });

  it('SSE: retried the same way; the stream ends at the expiry with 2002 when no refresh succeeded', async () => {
    const { expiresAt } = await start(() => 'fail');
    const stream = await SseTestClient.connect(`${hub!.url}/events?channel=room:1`);
    await stream.ready();
    advance(LIFETIME - 7_500);
    for (const [n, next] of [
      [1, 1_000],
      [2, 2_000],
      [3, 4_000],
    ] as const) {
      await failedRefreshes(n);
      advance(next);
    }
    await failedRefreshes(4);
    expect(stream.events.items.filter((e) => e.event === 'disconnect')).toEqual([]);
    advance(500);
    await stream.ended;
    const disconnect = stream.events.items.find((e) => e.event === 'disconnect');
    expect(JSON.parse(disconnect!.data)).toEqual({
      type: 'disconnect',
      error: { code: ErrorCode.TokenExpired, message: 'token expired: the refresh hook is unavailable' },
    });
    expect(refreshCalls().every((r) => r.body.transport === 'sse')).toBe(true);
    expect(refreshCalls().map((r) => r.body.time)).toEqual([expiresAt - 7_500, expiresAt - 6_500, expiresAt - 4_500, expiresAt - 500]);
  });

  it('an allow that does not move the expiry later is not refreshed again: the session ends at that expiry', async () => {
    const { expiresAt } = await start(() => ({ allow: true, expiresAt: expiresAt / 1000 }));
    const client = await WsTestClient.connect(hub!.wsUrl);
    advance(LIFETIME - 7_500);
    await app!.requests.until(() => refreshCalls().length === 1, 'the refresh');
    await eventually(
      async () => (await (await fetch(`${hub!.url}/metrics`)).text()).includes('herald_hook_calls_total{hook="refresh",outcome="allow"} 1'),
      'the allow',
    );
    advance(7_500);
    expect(await client.closed).toEqual({ code: CloseCode.TokenExpired, reason: 'token expired' });
    expect(refreshCalls()).toHaveLength(1);
  });
});
