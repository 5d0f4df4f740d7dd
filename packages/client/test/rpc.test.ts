import { randomBytes } from 'node:crypto';
import { createClient, HeraldClientError, type HeraldClient, type TransportName } from '@herald/client/node';
import { ErrorCode } from '@herald/protocol';
import { JwtAuthenticator } from '@herald/server';
import { startHookApp, startTestHub, type HookApp, type HookAppHandler, type TestHub } from '@herald/testkit';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

/** `client.rpc()` on every transport, against a real app server that checks every hook signature. */

const SECRET = randomBytes(24).toString('base64url');
const TOKEN_KEY = randomBytes(32).toString('base64url');
const never = new Promise<never>(() => undefined);

const answer: HookAppHandler = (request) => {
  const { method, data, user, transport } = request.body;
  if (method === 'deny') return { allow: false, reason: 'no' };
  if (method === 'slow') return never;
  return { allow: true, data: { echo: data, user, transport } };
};

let app: HookApp;
let hub: TestHub;
const clients: HeraldClient[] = [];

function client(transport: TransportName, options: Partial<Parameters<typeof createClient>[0]> = {}): HeraldClient {
  const c = createClient({ url: hub.url, transports: [transport], pollWait: 5, ...options });
  clients.push(c);
  return c;
}

async function connected(c: HeraldClient): Promise<void> {
  c.connect();
  if (c.state !== 'connected') await new Promise<void>((resolve) => c.on('state', (s) => s === 'connected' && resolve()));
}

beforeAll(async () => {
  app = await startHookApp(SECRET, answer);
  hub = await startTestHub({
    hooks: { secrets: [SECRET], rpc: `${app.url}/rpc`, timeout: 500 },
    security: { authenticator: new JwtAuthenticator({ secret: TOKEN_KEY }) },
  });
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

afterAll(async () => {
  await hub.close();
  await app.close();
  expect(app.requests.items.filter((r) => !r.signed)).toEqual([]);
});

describe.each<[TransportName, string]>([
  ['websocket', 'websocket'],
  ['sse', 'http'],
  ['polling', 'http'],
])('client.rpc connected over %s', (transport, hookTransport) => {
  it(`resolves with the app's data, sent as ${hookTransport}`, async () => {
    const c = client(transport);
    await connected(c);
    expect(c.transport).toBe(transport);
    const result = await c.rpc<{ echo: unknown; transport: string }>('echo', { n: 1 });
    expect(result).toEqual({ echo: { n: 1 }, user: null, transport: hookTransport });
    expect(await c.rpc('echo')).toEqual({ echo: null, user: null, transport: hookTransport });
  });

  it('rejects with HeraldClientError and the code: 2001 denied, 1005 bad method, 3003 past the hook timeout', async () => {
    const c = client(transport);
    await connected(c);
    await expect(c.rpc('deny')).rejects.toMatchObject({ name: 'HeraldClientError', code: ErrorCode.Forbidden, message: 'no' });
    await expect(c.rpc('bad method')).rejects.toMatchObject({ code: ErrorCode.InvalidField });
    const slow = c.rpc('slow');
    await expect(slow).rejects.toBeInstanceOf(HeraldClientError);
    await expect(slow).rejects.toMatchObject({ code: ErrorCode.HookUnavailable });
  });

  it("rejects with code 'timeout' past options.timeout, and with the signal's reason on abort", async () => {
    const c = client(transport);
    await connected(c);
    await expect(c.rpc('slow', null, { timeout: 50 })).rejects.toMatchObject({
      code: 'timeout',
      message: 'rpc slow got no answer within 50 ms',
    });
    const abort = new AbortController();
    const call = c.rpc('slow', null, { signal: abort.signal });
    abort.abort(new Error('changed my mind'));
    await expect(call).rejects.toThrow('changed my mind');
    // The connection is still usable.
    expect(await c.rpc('echo', 2)).toMatchObject({ echo: 2 });
  });
});

describe('client.rpc before connecting', () => {
  it('calls POST /api/rpc without connecting, with the token getToken gives', async () => {
    const alice = await new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(TOKEN_KEY));
    const c = client('websocket', { getToken: () => Promise.resolve(alice) });
    expect(await c.rpc('echo', 'x')).toEqual({ echo: 'x', user: 'alice', transport: 'http' });
    expect(c.state).toBe('idle');
  });

  it('rejects an already aborted signal and a bad timeout without calling the app', async () => {
    const c = client('websocket');
    const before = app.requests.items.length;
    await expect(c.rpc('echo', 1, { signal: AbortSignal.abort(new Error('early')) })).rejects.toThrow('early');
    await expect(c.rpc('echo', 1, { timeout: 0 })).rejects.toThrow(RangeError);
    expect(app.requests.items).toHaveLength(before);
  });

  it("rejects with 'closed' once the client is closed", async () => {
    const c = client('websocket');
    c.close();
    await expect(c.rpc('echo')).rejects.toMatchObject({ code: 'closed' });
  });
});
