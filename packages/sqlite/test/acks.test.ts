import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JwtAuthenticator } from '@herald/server';
import { createSqliteEngine } from '@herald/sqlite';
import { startTestHub, WsTestClient } from '@herald/testkit';
import { SignJWT } from 'jose';
import { afterAll, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'herald-sqlite-acks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SECRET = 'sqlite-acks-test-secret-0123456789abcdef';
const API_KEY = 's'.repeat(32);

it('acknowledged positions are kept in the file across a restart of the hub', async () => {
  const path = join(dir, 'acks.db');
  const options = () => ({
    ...createSqliteEngine({ path }),
    security: { authenticator: new JwtAuthenticator({ secret: SECRET }), apiKeys: [API_KEY] },
  });
  const token = await new SignJWT({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 3600 })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(SECRET));
  let hub = await startTestHub(options());
  const published = await fetch(`${hub.url}/api/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-herald-key': API_KEY },
    body: JSON.stringify({ channel: 'orders', data: 1 }),
  });
  const { epoch } = (await published.json()) as { epoch: string };
  const ws = await WsTestClient.connect(hub.wsUrl, { headers: { authorization: `Bearer ${token}` } });
  expect(await ws.request({ type: 'ack', channel: 'orders', epoch, offset: 1 })).toMatchObject({ offset: 1 });
  await ws.close();
  await hub.close();
  hub = await startTestHub(options());
  try {
    const res = await fetch(`${hub.url}/api/acks?channel=orders`, { headers: { 'x-herald-key': API_KEY } });
    expect(await res.json()).toEqual({ channel: 'orders', acks: [{ user: 'alice', epoch, offset: 1, time: expect.any(Number) }] });
  } finally {
    await hub.close();
  }
});
