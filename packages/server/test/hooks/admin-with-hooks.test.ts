import { ErrorCode } from '@herald/protocol';
import { ADMIN_NEEDS_CREDENTIALS, type HooksOptions } from '@herald/server';
import { startHookApp, startTestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { owned } from '../owned.js';

/**
 * A hub whose only access control is a proxy hook (no API key, no token verification, default
 * permissions) is not open: its admin API needs credentials. The API key's holder publishes
 * through the admin API without the publish hook being asked.
 */

const SECRET = 'hook-secret-of-at-least-16';
const API_KEY = 'an-api-key-of-16+chars';

const { own, closeAll } = owned();
afterEach(closeAll);

const post = (url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

const cases: [string, (url: string) => Partial<HooksOptions>][] = [
  ['subscribe and publish', (url) => ({ subscribe: `${url}/s`, publish: `${url}/p` })],
  ['connect', (url) => ({ connect: `${url}/c` })],
  ['rpc', (url) => ({ rpc: `${url}/r` })],
  ['a namespace’s publish only', (url) => ({ namespaces: { private: { publish: `${url}/p` } } })],
];

describe('the admin API of a hub with proxy hooks', () => {
  it.each(cases)('with a %s hook refuses anonymous callers (401, 2000)', async (_name, hooks) => {
    const app = own(await startHookApp(SECRET, () => ({ allow: false, reason: 'app says no' })));
    const hub = own(await startTestHub({ admin: true, hooks: { secrets: [SECRET], ...hooks(app.url) } }));
    const publish = await post(`${hub.url}/api/admin/publish`, { channel: 'private:x', data: 1 });
    expect(publish.status).toBe(401);
    expect(await publish.json()).toEqual({ error: { code: ErrorCode.Unauthorized, message: ADMIN_NEEDS_CREDENTIALS } });
    expect((await fetch(`${hub.url}/api/admin/connections`)).status).toBe(401);
    expect(app.requests.items).toEqual([]);
  });

  it('without hooks, on default permissions, is open (the dev profile)', async () => {
    const hub = own(await startTestHub({ admin: true }));
    expect((await fetch(`${hub.url}/api/admin/connections`)).status).toBe(200);
  });

  it('lets the API key publish without asking the publish hook, which still decides a client’s publish', async () => {
    const app = own(await startHookApp(SECRET, () => ({ allow: false, reason: 'app says no' })));
    const hub = own(
      await startTestHub({ admin: true, security: { apiKeys: [API_KEY] }, hooks: { secrets: [SECRET], publish: `${app.url}/p` } }),
    );
    const admin = await post(
      `${hub.url}/api/admin/publish`,
      { channel: 'private:x', data: 'by the operator' },
      { 'x-herald-key': API_KEY },
    );
    expect(admin.status).toBe(200);
    expect(app.requests.items).toEqual([]);
    const client = await post(`${hub.url}/api/publish`, { channel: 'private:x', data: 'by a client' });
    expect(client.status).toBe(403);
    expect(((await client.json()) as { error: { code: number } }).error.code).toBe(ErrorCode.Forbidden);
    expect(app.requests.items.map((r) => r.body.hook)).toEqual(['publish']);
  });
});
