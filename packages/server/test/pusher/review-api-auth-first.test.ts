import { WsTestClient, type TestHub } from '@herald/testkit';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { APP, refusal, sdkFor, startPusherHub } from './api-helpers.js';

/** A raw HTTP exchange: the status line of the answer. */
async function statusOf(url: string, init?: RequestInit): Promise<number> {
  return (await fetch(url, init)).status;
}

describe('Pusher HTTP API: authenticated first, limited per address; /app/{key} upgrades checked for headers', () => {
  let hub: TestHub | undefined;
  const raw: WsTestClient[] = [];
  afterEach(async () => {
    await Promise.all(raw.splice(0).map((c) => c.close()));
    await hub?.close();
    hub = undefined;
  });

  it('answers an unknown app and a wrong signature alike (401), for any path under it', async () => {
    hub = await startPusherHub();
    for (const app of ['app1', 'nope']) {
      for (const path of ['/events', '/channels', '/no-such-endpoint']) {
        const answer = await fetch(`${hub.url}/apps/${app}${path}?auth_key=${APP.key}&auth_timestamp=1&auth_version=1.0&auth_signature=00`);
        expect(answer.status, `${app}${path}`).toBe(401);
      }
    }
    // Signed, an unknown endpoint is a 404 and a wrong method a 405 (only once authenticated).
    expect((await refusal(sdkFor(hub).get({ path: '/no-such-endpoint' }))).status).toBe(404);
    expect((await refusal(sdkFor(hub).get({ path: '/events' }))).status).toBe(405);
  });

  it('refuses an unsigned POST before reading its body (the connection is not reused)', async () => {
    hub = await startPusherHub({ maxBodyBytes: 1024 * 1024 });
    const body = JSON.stringify({ name: 'e', channel: 'c', data: 'x'.repeat(500_000) });
    const answer = await fetch(`${hub.url}/apps/app1/events?auth_key=nope`, { method: 'POST', body });
    expect(answer.status).toBe(401);
    expect(answer.headers.get('connection')).toBe('close');
    expect(await answer.text()).toMatch(/^Invalid auth_key/);
  });

  it('applies Herald’s per-address request limits (publish for POST, history for GET)', async () => {
    hub = await startPusherHub({
      requestLimits: { publish: { perIp: { perSecond: 0.01, burst: 2 } }, history: { perIp: { perSecond: 0.01, burst: 1 } } },
    });
    const sdk = sdkFor(hub);
    await sdk.trigger('c', 'e', '1');
    await sdk.trigger('c', 'e', '2');
    const third = await refusal(sdk.trigger('c', 'e', '3'));
    expect(third.status).toBe(429);
    expect((await sdk.get({ path: '/channels' })).status).toBe(200);
    expect((await refusal(sdk.get({ path: '/channels' }))).status).toBe(429);
    // Unsigned requests count too (the limit comes before the signature).
    expect(await statusOf(`${hub.url}/apps/app1/channels`)).toBe(429);
  });

  it('answers an /app/{key} upgrade with 200 or more headers with 431', async () => {
    hub = await startPusherHub();
    const headers: Record<string, string> = {};
    for (let i = 0; i < 200; i++) headers[`x-h${i}`] = 'v';
    const status = await new Promise<number | string>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${hub!.port}/app/${APP.key}?protocol=7`, { headers });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => {
        ws.terminate();
        resolve('open');
      });
      ws.on('error', (error) => resolve(error.message));
    });
    expect(status).toBe(431);
    const ok = await WsTestClient.connect(`ws://127.0.0.1:${hub.port}/app/${APP.key}?protocol=7`);
    raw.push(ok);
    expect((await ok.frames.count(1))[0].event).toBe('pusher:connection_established');
  });
});
