import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JwtAuthenticator, Permissions } from '@herald/server';
import { createSqliteEngine } from '@herald/sqlite';
import { SignJWT } from 'jose';
import { startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Review of issue 9, item 2: a database restored from a backup keeps its epoch but is behind the
 * positions handed out since the backup. A client without `history` resuming from such a signed
 * position (a gap `ahead`) must not be replayed the retained backlog from before it subscribed,
 * nor be handed a signed cursor at the start of the window; it resumes at the current end.
 */

const dir = mkdtempSync(join(tmpdir(), 'herald-sqlite-restore-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('restore from a backup', () => {
  it('a signed cursor ahead of the restored log resumes at its end, replaying no backlog', async () => {
    const path = join(dir, 'hub.db');
    const secret = 'sqlite-restore-jwt-secret-0123456789abcdef';
    const security = {
      authenticator: new JwtAuthenticator({ secret }),
      apiKeys: ['sqlite-restore-api-key-0123456789'],
      permissions: new Permissions({ room: { subscribe: 'authenticated', publish: 'none', history: 'none', presence: 'none' } }),
    } as const;
    const token = await new SignJWT({ sub: 'mallory' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    const headers = { authorization: `Bearer ${token}` };
    const start = (): Promise<TestHub> => startTestHub({ ...createSqliteEngine({ path, historySize: 1000 }), security });

    // The backlog, published before the attacker ever subscribed; then the nightly backup.
    const first = await start();
    for (let i = 1; i <= 5; i++) await first.server.hub.publish('room:1', { secret: `backlog ${i}` });
    await first.close();
    copyFileSync(path, `${path}.backup`);

    // The attacker subscribes (from now) and is handed signed positions past the backup.
    const second = await start();
    const ws = await WsTestClient.connect(second.wsUrl, { headers });
    expect((await ws.request({ type: 'subscribe', channel: 'room:1' })).error).toBeUndefined();
    for (let i = 6; i <= 8; i++) await second.server.hub.publish('room:1', { live: i });
    const last = (await ws.waitForMessages(3)).at(-1);
    expect(last.offset).toBe(8);
    await second.close();
    await ws.closed;

    // The operator restores the backup: same epoch, log at offset 5.
    copyFileSync(`${path}.backup`, path);
    const third = await start();
    const again = await WsTestClient.connect(third.wsUrl, { headers });
    try {
      const reply = await again.request({ type: 'subscribe', channel: 'room:1', since: last.cursor });
      expect(reply.error).toBeUndefined();
      await again.request({ type: 'ping' });
      expect(again.messages().map((m) => m.data)).toEqual([]);
      expect(again.frames.items.find((f) => f.type === 'gap')).toMatchObject({ reason: 'ahead', resumed: { offset: 5 } });
      const polled = await fetch(`${third.url}/api/messages?channel=room:1&since=${last.cursor}`, { headers });
      const body = (await polled.json()) as { messages: unknown[]; gaps: unknown[] };
      expect(body.messages).toEqual([]);
      expect(body.gaps).toMatchObject([{ reason: 'ahead', resumed: { offset: 5 } }]);
    } finally {
      await again.close();
      await third.close();
    }
  });
});
