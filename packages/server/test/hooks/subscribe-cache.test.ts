import { ErrorCode } from '@herald/protocol';
import { startHookApp, startTestHub, WsTestClient, type HookApp, type HookAppRequest, type TestHub } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from './jwt-users.js';

/**
 * The subscribe allow cache (`cacheTtl`) is keyed on user, channel, transport and connection info:
 * an app deciding on the transport or the connection info sees every distinct case, and one
 * connection's channel info is never handed to a connection with other info.
 */

const SECRET = 'hook-secret-of-at-least-16';

/** The app: the token names the device; polling is refused, and so is a kiosk; the channel info names the device. */
function decide(request: HookAppRequest): Record<string, unknown> {
  const body = request.body as { hook: string; token?: string; transport: string; info?: { device: string } };
  if (body.hook === 'connect') return { allow: true, user: 'alice', info: { device: body.token } };
  if (body.transport === 'polling') return { allow: false, reason: 'no polling here' };
  if (body.info?.device === 'kiosk') return { allow: false, reason: 'kiosk may not' };
  return { allow: true, info: { device: body.info?.device } };
}

let app: HookApp;
let hub: TestHub;
beforeAll(async () => {
  app = await startHookApp(SECRET, decide);
  hub = await startTestHub({
    hooks: { secrets: [SECRET], connect: `${app.url}/connect`, subscribe: `${app.url}/subscribe`, cacheTtl: 60 },
  });
});
afterAll(async () => {
  await hub.close();
  await app.close();
});

const subscribeCalls = (): string[] =>
  app.requests.items
    .filter((r) => r.body.hook === 'subscribe')
    .map((r) => `${r.body.transport as string}/${(r.body.info as { device: string }).device}`);

describe('subscribe cache key', () => {
  it('a WebSocket allow is not reused for a poll, nor for a connection with other info; the same case is cached', async () => {
    const phone = await WsTestClient.connect(hub.wsUrl, { headers: bearer('phone') });
    expect((await phone.request({ type: 'subscribe', channel: 'room:1' })).error).toBeUndefined();
    const again = await WsTestClient.connect(hub.wsUrl, { headers: bearer('phone') });
    expect((await again.request({ type: 'subscribe', channel: 'room:1' })).error).toBeUndefined();
    expect(subscribeCalls()).toEqual(['websocket/phone']);

    const poll = await fetch(`${hub.url}/api/messages?channel=room:1`, { headers: bearer('phone') });
    expect(poll.status).toBe(403);
    await poll.body?.cancel();

    const kiosk = await WsTestClient.connect(hub.wsUrl, { headers: bearer('kiosk') });
    expect((await kiosk.request({ type: 'subscribe', channel: 'room:1' })).error).toEqual({
      code: ErrorCode.Forbidden,
      message: 'kiosk may not',
    });
    expect(subscribeCalls()).toEqual(['websocket/phone', 'polling/phone', 'websocket/kiosk']);

    const tablet = await WsTestClient.connect(hub.wsUrl, { headers: bearer('tablet') });
    expect((await tablet.request({ type: 'subscribe', channel: 'room:1' })).error).toBeUndefined();
    const members = (await tablet.request({ type: 'presence', channel: 'room:1' })).members as { client: string; info: unknown }[];
    expect(members.map((m) => m.info).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
      { device: 'phone' },
      { device: 'phone' },
      { device: 'tablet' },
    ]);
    for (const client of [phone, again, kiosk, tablet]) await client.close();
  });
});
