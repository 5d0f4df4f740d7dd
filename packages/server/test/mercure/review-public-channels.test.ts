import { startHookApp, type HookApp, type SseTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { startMercureHub, subscribe, token } from './mercure-helpers.js';

// A Herald API (or Pusher) message is public to anonymous Mercure subscribers only where anyone may
// subscribe its channel on Herald's own doors: not where a subscribe hook decides, not on a Pusher
// `private-`/`presence-` channel. There only subscribers whose JWT allows the topic receive it.

const API_KEY = 'k'.repeat(32);
const HOOK_SECRET = 'hook-secret-0123456789-abcdef';
let hub: TestHub | undefined;
let app: HookApp | undefined;
const opened: SseTestClient[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
  await hub?.close();
  await app?.close();
  hub = undefined;
  app = undefined;
});

const datas = (client: SseTestClient): string[] => client.events.items.map((e) => e.data);

async function apiPublish(url: string, channel: string, data: unknown): Promise<void> {
  const res = await fetch(`${url}/api/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-herald-key': API_KEY },
    body: JSON.stringify({ channel, data }),
  });
  expect(res.status).toBe(200);
  await res.text();
}

/** Publishes `secret` on `guarded`, then `open` on `free`; anonymous sees only `open`, the allowed JWT both. */
async function check(url: string, guarded: string, free: string, allowed: string): Promise<void> {
  const anonymous = await subscribe(url, [guarded, free]);
  const jwt = await token({ subscribe: [allowed] });
  const holder = await subscribe(url, [guarded, free], { authorization: `Bearer ${jwt}` });
  opened.push(anonymous, holder);
  await apiPublish(url, guarded, 'secret');
  await apiPublish(url, free, 'open');
  await holder.events.count(2);
  await anonymous.events.count(1);
  expect(datas(holder)).toEqual(['"secret"', '"open"']);
  expect(datas(anonymous)).toEqual(['"open"']);
}

describe('Herald/Pusher messages and anonymous Mercure subscribers', () => {
  it('a channel a subscribe hook decides for is not public', async () => {
    app = await startHookApp(HOOK_SECRET, () => ({ allow: false }));
    hub = await startMercureHub(
      { anonymous: true },
      {
        security: { apiKeys: [API_KEY] },
        hooks: { secrets: [HOOK_SECRET], namespaces: { room: { subscribe: `${app.url}/subscribe` } } },
      },
    );
    await check(hub.url, 'room:1', 'lobby:1', 'room:{id}');
  });

  it('a Pusher private-, private-encrypted- or presence- channel is not public, even on an open hub', async () => {
    hub = await startMercureHub({ anonymous: true }, { security: { apiKeys: [API_KEY] } });
    await check(hub.url, 'app1:private-orders', 'app1:orders', 'app1:private-orders');
    await Promise.all(opened.splice(0).map((c) => c.close()));
    await check(hub.url, 'app1:presence-room', 'app1:room', 'app1:presence-room');
    await Promise.all(opened.splice(0).map((c) => c.close()));
    await check(hub.url, 'app1:private-encrypted-x', 'app1:x', 'app1:private-encrypted-x');
  });
});
