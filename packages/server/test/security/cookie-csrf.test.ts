import { ErrorCode } from '@herald/protocol';
import { JwtAuthenticator, Permissions } from '@herald/server';
import type { TestHub } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardSuite, HS_SECRET, remember, startHub, tokenFor } from './suite.js';

guardSuite();

describe('cookies with every origin allowed', () => {
  let hub: TestHub;
  let token: string;
  beforeAll(async () => {
    const permissions = new Permissions({
      room: { subscribe: 'authenticated', publish: 'authenticated', history: 'authenticated', presence: 'authenticated' },
    });
    hub = await startHub({ security: { authenticator: new JwtAuthenticator({ secret: HS_SECRET }), permissions, allowedOrigins: '*' } });
    token = remember(await tokenFor('alice'));
  });
  afterAll(async () => {
    await hub.close();
  });

  it('refuses cookie authentication from any browser page (CSRF), and still takes it from a non-browser client', async () => {
    const cookie = `herald_token=${token}`;
    const fromPage = await fetch(`${hub.url}/api/publish`, {
      method: 'POST',
      headers: { cookie, origin: 'https://evil.example', 'content-type': 'text/plain' },
      body: JSON.stringify({ channel: 'room:1', data: 'forged' }),
    });
    expect(fromPage.status).toBe(403);
    expect(((await fromPage.json()) as { error: { code: number } }).error.code).toBe(ErrorCode.Forbidden);
    const fromBackend = await fetch(`${hub.url}/api/messages?channel=room:1`, { headers: { cookie } });
    expect(fromBackend.status).toBe(200);
    expect(((await fromBackend.json()) as { messages: unknown[] }).messages).toEqual([]);
  });
});
