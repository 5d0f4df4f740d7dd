import { ErrorCode } from '@herald/protocol';
import { startTestHub, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { webhookTestbed } from './webhook-testbed.js';

// Dead letters have their own bound (maxDead), apart from maxQueued, and the admin API deletes them.

const SECRET = 'webhook-test-secret-0123456789';

const { own, app, hub, closeAll } = webhookTestbed(SECRET, { admin: true });
afterEach(closeAll);

interface AdminPage {
  queued: number;
  dead: number;
  deadLetters: { event: { id: string; channel: string } }[];
}

async function page(h: TestHub): Promise<AdminPage> {
  return (await (await fetch(`${h.url}/api/admin/webhooks?limit=100`)).json()) as AdminPage;
}

async function remove(h: TestHub, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${h.url}/api/admin/webhooks`, {
    method: 'DELETE',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function metric(h: TestHub, line: string): Promise<number | undefined> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

const occupied = (channel: string) => ({ type: 'channel_occupied', channel }) as const;

describe('webhooks: dead-letter bounds', () => {
  it('dead letters do not count toward maxQueued: after maxQueued events died, new ones are still delivered', async () => {
    const a = await app();
    a.answer(() => 400);
    const h = await hub({ url: a.url, maxAttempts: 1, maxQueued: 5 });
    const sink = h.server.herald.hub.webhooks!;
    for (let i = 0; i < 5; i++) await sink.emit(occupied(`poison:${i}`));
    await expect.poll(() => page(h), { timeout: 5000 }).toMatchObject({ queued: 0, dead: 5 });
    a.answer(() => 200);
    for (let i = 0; i < 5; i++) await sink.emit(occupied(`healthy:${i}`));
    await a.deliveries.until(() => a.delivered().length === 5, '5 delivered');
    expect((await metric(h, 'herald_webhook_events_total{outcome="dropped"}')) ?? 0).toBe(0);
  });

  it('keeps at most maxDead dead letters: the oldest go, counted as dead_dropped', async () => {
    const a = await app();
    a.answer(() => 400);
    const h = await hub({ url: a.url, maxAttempts: 1, maxDead: 3 });
    const sink = h.server.herald.hub.webhooks!;
    for (let i = 0; i < 5; i++) {
      await sink.emit(occupied(`d:${i}`));
      await a.deliveries.count(i + 1);
      await expect.poll(async () => (await page(h)).queued, { timeout: 5000 }).toBe(0);
    }
    const dead = await page(h);
    expect(dead.deadLetters.map((l) => l.event.channel)).toEqual(['d:2', 'd:3', 'd:4']);
    expect(dead.dead).toBe(3);
    expect(await metric(h, 'herald_webhook_events_total{outcome="dead"}')).toBe(5);
    expect(await metric(h, 'herald_webhook_events_total{outcome="dead_dropped"}')).toBe(2);
  });

  it('DELETE /api/admin/webhooks deletes named dead letters or all of them; a bad body gets a clear error', async () => {
    const a = await app();
    a.answer(() => 400);
    const h = await hub({ url: a.url, maxAttempts: 1 });
    const sink = h.server.herald.hub.webhooks!;
    for (let i = 0; i < 4; i++) await sink.emit(occupied(`x:${i}`));
    await expect.poll(() => page(h), { timeout: 5000 }).toMatchObject({ queued: 0, dead: 4 });
    const ids = (await page(h)).deadLetters.map((l) => l.event.id);
    expect(await remove(h, { ids: [ids[0], 'not-an-id'] })).toEqual({ status: 200, body: { deleted: 1 } });
    expect((await page(h)).deadLetters.map((l) => l.event.id)).toEqual(ids.slice(1));
    expect(await remove(h, 'nope')).toMatchObject({ status: 400, body: { error: { code: ErrorCode.InvalidJson } } });
    for (const body of [{}, { ids: [] }, { all: false }, { all: true, ids: ['a'] }, { ids: [7] }])
      expect(await remove(h, body)).toMatchObject({ status: 400, body: { error: { code: ErrorCode.InvalidField } } });
    expect(await remove(h, { all: true })).toEqual({ status: 200, body: { deleted: 3 } });
    expect(await page(h)).toMatchObject({ queued: 0, dead: 0, deadLetters: [] });
    // A deleted letter cannot be replayed.
    const replay = await fetch(`${h.url}/api/admin/webhooks/replay`, { method: 'POST', body: JSON.stringify({ ids }) });
    expect(await replay.json()).toEqual({ replayed: 0 });
  });

  it('DELETE needs the admin credentials', async () => {
    const a = await app();
    const h = await startTestHub({
      webhooks: { url: a.url, secrets: [SECRET] },
      admin: true,
      security: { apiKeys: ['an-api-key-0123456789'] },
    });
    own(h);
    const body = JSON.stringify({ all: true });
    expect((await fetch(`${h.url}/api/admin/webhooks`, { method: 'DELETE', body })).status).toBe(401);
    const res = await fetch(`${h.url}/api/admin/webhooks`, {
      method: 'DELETE',
      body,
      headers: { 'x-herald-key': 'an-api-key-0123456789' },
    });
    expect(await res.json()).toEqual({ deleted: 0 });
  });
});
