import { ErrorCode } from '@herald/protocol';
import { startHookApp, type HookApp } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, startCliHub, writeConfig } from './cli-process.js';

const SECRET = 'hook-secret-of-at-least-16';
const API_KEY = 'an-api-key-of-16+chars';

let app: HookApp | undefined;
afterEach(async () => {
  await killAll();
  await app?.close();
  app = undefined;
});

describe('herald start: proxy hooks from the configuration file and HERALD_HOOKS_* variables', () => {
  it('runs the production profile with a connect hook in place of a token key, and the app decides', async () => {
    app = await startHookApp(SECRET, (request) => {
      const token = request.body.token as string | undefined;
      if (token === 'good') return { allow: true, user: 'alice', grants: { subscribe: ['room:a'] } };
      return { allow: false };
    });
    const file = writeConfig({
      apiKeys: [API_KEY],
      namespaces: { room: { subscribe: 'granted', publish: 'granted', history: 'granted', presence: 'granted' } },
      hooks: { secrets: ['a-secret-the-env-replaces'], forwardHeaders: ['x-app-session'] },
    });
    const hub = await startCliHub(['--config', file], {
      HERALD_HOOKS_SECRET: SECRET,
      HERALD_HOOKS_CONNECT_URL: `${app.url}/connect`,
      HERALD_HOOKS_TIMEOUT: '2000',
    });
    expect(hub.stderr()).toBe(`herald: profile production (apiKeys, namespaces in ${file}; HERALD_HOOKS_CONNECT_URL)\n`);
    const poll = (channel: string, token: string): Promise<Response> =>
      fetch(`${hub.url}/api/messages?channel=${channel}`, { headers: { authorization: `Bearer ${token}`, 'x-app-session': 's-1' } });
    expect((await poll('room:a', 'good')).status).toBe(200);
    const refused = await poll('room:b', 'good');
    expect([refused.status, ((await refused.json()) as { error: { code: number } }).error.code]).toEqual([403, ErrorCode.Forbidden]);
    const denied = await poll('room:a', 'bad');
    expect([denied.status, ((await denied.json()) as { error: { code: number } }).error.code]).toEqual([401, ErrorCode.Unauthorized]);
    expect(app.requests.items.map((r) => [r.signed, r.body.token, r.body.headers])).toEqual([
      [true, 'good', { 'x-app-session': 's-1' }],
      [true, 'good', { 'x-app-session': 's-1' }],
      [true, 'bad', { 'x-app-session': 's-1' }],
    ]);
  });
});
