import { createRequire } from 'node:module';
import type { TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { ambiguousQuery } from '../../src/pusher/pusher-request-signature.js';
import { APP, sdkFor, startPusherHub } from './api-helpers.js';

// The `pusher` SDK's own signing (what `pusher.get` sends), to build requests it would sign.
const require = createRequire(import.meta.url);
const { createSignedQueryString } = require('pusher/lib/requests') as {
  createSignedQueryString: (
    token: unknown,
    request: { method: string; path: string; params?: Record<string, string>; body?: string },
  ) => string;
};
const Token = require('pusher/lib/token') as new (key: string, secret: string) => unknown;
const token = new Token(APP.key, APP.secret);

describe('Pusher HTTP API: the request signature is unambiguous', () => {
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
  });

  it('the SDK’s requests pass; a query smuggling a parameter inside a value, or a key twice in another case, is refused', async () => {
    hub = await startPusherHub();
    const path = '/apps/app1/channels';
    const query = createSignedQueryString(token, { method: 'GET', path, params: { filter_by_prefix: 'presence-', info: 'user_count' } });
    const good = await fetch(`${hub.url}${path}?${query}`);
    expect(good.status).toBe(200);
    expect(await good.json()).toEqual({ channels: {} });
    // Signed as two parameters, sent as one value holding "&info=user_count".
    const smuggled = query.replace('filter_by_prefix=presence-&info=user_count', 'filter_by_prefix=presence-%26info%3Duser_count');
    expect(smuggled).not.toBe(query);
    const refused = await fetch(`${hub.url}${path}?${smuggled}`);
    expect(refused.status).toBe(401);
    expect(await refused.text()).toMatch(/^Invalid query: the value of "filter_by_prefix" holds &/);
    // An unsigned AUTH_SIGNATURE (left out of the signed text before) or INFO beside info.
    for (const extra of ['AUTH_SIGNATURE=x', 'INFO=user_count']) {
      const answer = await fetch(`${hub.url}${path}?${query}&${extra}`);
      expect(answer.status).toBe(401);
      expect(await answer.text()).toMatch(/more than once/);
    }
    // The SDK itself still works, with and without parameters.
    expect((await sdkFor(hub).get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } })).status).toBe(200);
    expect((await sdkFor(hub).trigger('news', 'e', { a: 1 })).status).toBe(200);
  });

  it('ambiguousQuery', () => {
    expect(ambiguousQuery(new URLSearchParams('a=1&b=x=y'))).toBeUndefined();
    expect(ambiguousQuery(new URLSearchParams('a=1%262'))).toMatch(/holds &/);
    expect(ambiguousQuery(new URLSearchParams('a%3Db=1'))).toMatch(/holds & or =/);
    expect(ambiguousQuery(new URLSearchParams('=1'))).toMatch(/empty/);
    expect(ambiguousQuery(new URLSearchParams('a=1&A=2'))).toMatch(/more than once/);
  });
});
