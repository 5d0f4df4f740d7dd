import { ErrorCode } from '@herald/protocol';
import { Permissions } from '@herald/server';
import { startHookApp, startTestHub, WsTestClient, type HookAppHandler, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { owned } from '../owned.js';

/**
 * What the hub accepts of a hook's answer: `info` (connection or channel info) of at most 8 KiB
 * of JSON, and the metrics' outcome of an allow the hub then rejects (`invalid`, not `allow`).
 */

const SECRET = 'hook-secret-of-at-least-16';

const { own, closeAll } = owned();
afterEach(closeAll);

async function start(handler: HookAppHandler, hooks: { connect?: boolean; subscribe?: boolean }): Promise<TestHub> {
  const app = own(await startHookApp(SECRET, handler));
  return own(
    await startTestHub({
      security: {
        permissions: new Permissions({
          room: { subscribe: 'anonymous', publish: 'anonymous', history: 'anonymous', presence: 'anonymous' },
        }),
      },
      hooks: {
        secrets: [SECRET],
        ...(hooks.connect === true && { connect: `${app.url}/connect` }),
        ...(hooks.subscribe === true && { subscribe: `${app.url}/subscribe` }),
      },
    }),
  );
}

/** An `info` whose JSON is exactly `bytes` long: `{"pad":"xxx…"}`. */
const infoOf = (bytes: number): { pad: string } => ({ pad: 'x'.repeat(bytes - '{"pad":""}'.length) });

async function hookCalls(hub: TestHub, hook: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${hub.url}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^herald_hook_calls_total\{hook="(\w+)",outcome="(\w+)"\} (\d+)$/gm))
    if (match[1] === hook) counts[match[2]!] = Number(match[3]);
  return counts;
}

describe('info of at most 8 KiB of JSON', () => {
  it('connect: 8192 bytes are taken, 8193 are an invalid answer (503, 3003) on every transport, counted invalid', async () => {
    let size = 8192;
    const hub = await start(() => ({ allow: true, user: 'alice', info: infoOf(size) }), { connect: true });
    expect((await fetch(`${hub.url}/api/messages?channel=room:1`)).status).toBe(200);
    size = 8193;
    const invalid = {
      code: ErrorCode.HookUnavailable,
      message: 'the connect hook answered an invalid decision: "info" is larger than 8192 bytes of JSON',
    };
    const poll = await fetch(`${hub.url}/api/messages?channel=room:1`);
    expect(poll.status).toBe(503);
    expect(await poll.json()).toEqual({ error: invalid });
    const sse = await fetch(`${hub.url}/events?channel=room:1`);
    expect(sse.status).toBe(503);
    await sse.body?.cancel();
    await expect(WsTestClient.connect(hub.wsUrl)).rejects.toThrow(/503/);
    expect(await hookCalls(hub, 'connect')).toEqual({ allow: 1, invalid: 3 });
  });

  it('subscribe: channel info above 8 KiB refuses that subscribe with 3003; the member never carries it', async () => {
    const hub = await start((request) => ({ allow: true, info: request.body.channel === 'room:big' ? infoOf(8193) : infoOf(8192) }), {
      subscribe: true,
    });
    const client = await WsTestClient.connect(hub.wsUrl);
    expect((await client.request({ type: 'subscribe', channel: 'room:ok' })).error).toBeUndefined();
    expect((await client.request({ type: 'subscribe', channel: 'room:big' })).error).toEqual({
      code: ErrorCode.HookUnavailable,
      message: 'the subscribe hook answered an invalid decision: "info" is larger than 8192 bytes of JSON',
    });
    expect((await client.request({ type: 'presence', channel: 'room:big' })).members).toEqual([]);
    await client.close();
    expect(await hookCalls(hub, 'subscribe')).toEqual({ allow: 1, invalid: 1 });
  });
});

describe('metrics of an allow the hub rejects', () => {
  it('counts a connect allow with a bad user, grants or expiry as invalid', async () => {
    const answers = [
      { allow: true, user: 42 },
      { allow: true, user: 'a', grants: [] },
      { allow: true, user: 'a', expiresAt: 'tomorrow' },
      { allow: 'yes' },
    ];
    let next = 0;
    const hub = await start(() => answers[next++], { connect: true });
    for (let i = 0; i < answers.length; i++) {
      const res = await fetch(`${hub.url}/api/history?channel=room:1`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: number } }).error.code).toBe(ErrorCode.HookUnavailable);
    }
    expect(await hookCalls(hub, 'connect')).toEqual({ invalid: 4 });
  });

  it('counts a denial as deny', async () => {
    const hub = await start(() => ({ allow: false, reason: 'no' }), { connect: true });
    expect((await fetch(`${hub.url}/api/history?channel=room:1`)).status).toBe(401);
    expect(await hookCalls(hub, 'connect')).toEqual({ deny: 1 });
  });
});
