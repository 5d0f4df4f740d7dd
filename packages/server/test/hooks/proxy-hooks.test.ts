import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '@herald/protocol';
import { HookFailure, ProxyHooks, systemClock, type HooksOptions } from '@herald/server';
import { startHookApp, type HookApp } from '@herald/testkit';

const SECRET = 'a-hook-secret-of-32-characters!!';
const CONTEXT = { transport: 'websocket', client: 'c1' } as const;
const USER = {
  user: 'alice',
  authenticated: true,
  expiresAt: undefined,
  grants: { subscribe: [], publish: [], history: [], presence: [] },
};

let app: HookApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const hooksFor = (url: string, extra: Partial<HooksOptions> = {}): ProxyHooks =>
  new ProxyHooks(
    { secrets: [SECRET], connect: `${url}/connect`, subscribe: `${url}/subscribe`, publish: `${url}/publish`, rpc: `${url}/rpc`, ...extra },
    { clock: systemClock },
  );

describe('ProxyHooks against a real app', () => {
  it('signs every call, and a connect allow becomes the identity (user, grants, info, expiry)', async () => {
    app = await startHookApp(SECRET, () => ({
      allow: true,
      user: 'alice',
      grants: { subscribe: ['room:*'] },
      info: { name: 'Alice' },
      expiresAt: 4_000_000_000,
    }));
    const hooks = hooksFor(app.url);
    const identity = await hooks.connect(CONTEXT, { headers: { 'x-team': 'blue' }, cookies: { sid: 's' } }, 'tok');
    expect(identity).toMatchObject({
      user: 'alice',
      authenticated: true,
      info: { name: 'Alice' },
      expiresAt: 4_000_000_000_000,
      hooked: true,
    });
    expect(identity?.grants.subscribe).toEqual(['room:*']);
    const [request] = app.requests.items;
    expect(request?.signed).toBe(true);
    expect(request?.path).toBe('/connect');
    expect(request?.body).toMatchObject({
      hook: 'connect',
      transport: 'websocket',
      client: 'c1',
      token: 'tok',
      headers: { 'x-team': 'blue' },
      cookies: { sid: 's' },
    });
  });

  it('a denial is 2000 for connect and 2001 for subscribe, with the app reason', async () => {
    app = await startHookApp(SECRET, () => ({ allow: false, reason: 'banned' }));
    const hooks = hooksFor(app.url);
    await expect(hooks.connect(CONTEXT, { headers: {}, cookies: {} }, undefined)).rejects.toMatchObject({
      wireCode: ErrorCode.Unauthorized,
      message: 'banned',
    });
    await expect(hooks.subscribe(USER, CONTEXT, 'room:1')).rejects.toMatchObject({ wireCode: ErrorCode.Forbidden, message: 'banned' });
  });

  it('publish returns the replacement data; rpc returns the answer', async () => {
    app = await startHookApp(SECRET, (request) =>
      request.path === '/publish' ? { allow: true, data: { text: 'clean' } } : { allow: true, data: 42 },
    );
    const hooks = hooksFor(app.url);
    await expect(hooks.publish(USER, CONTEXT, 'room:1', { text: 'dirty' })).resolves.toEqual({ data: { text: 'clean' }, replaced: true });
    await expect(hooks.rpc(USER, CONTEXT, 'sum', [40, 2])).resolves.toBe(42);
    await expect(hooks.rpc(USER, CONTEXT, 'bad method!', null)).rejects.toMatchObject({ wireCode: ErrorCode.InvalidField });
  });

  it('namespaces pick their own URL or turn a hook off; backends and admins skip hooks', async () => {
    app = await startHookApp(SECRET);
    const hooks = hooksFor(app.url, { namespaces: { public: { subscribe: false }, billing: { rpc: `${app.url}/billing` } } });
    await expect(hooks.subscribe(USER, CONTEXT, 'public:news')).resolves.toBeUndefined();
    await expect(hooks.subscribe({ ...USER, server: true }, CONTEXT, 'room:1')).resolves.toBeUndefined();
    await hooks.rpc(USER, CONTEXT, 'billing:charge', {});
    expect(app.requests.items.map((r) => r.path)).toEqual(['/billing']);
    const none = new ProxyHooks({ secrets: [SECRET] }, { clock: systemClock });
    await expect(none.rpc(USER, CONTEXT, 'x', null)).rejects.toMatchObject({ wireCode: ErrorCode.NotFound });
  });

  it('caches a subscribe allow per user and channel for cacheTtl', async () => {
    app = await startHookApp(SECRET, () => ({ allow: true, info: { seat: 1 } }));
    const hooks = hooksFor(app.url, { cacheTtl: 60 });
    await hooks.subscribe(USER, CONTEXT, 'room:1');
    await expect(hooks.subscribe(USER, { ...CONTEXT, client: 'c2' }, 'room:1')).resolves.toEqual({ info: { seat: 1 } });
    await hooks.subscribe({ ...USER, user: 'bob' }, CONTEXT, 'room:1');
    expect(app.requests.items).toHaveLength(2);
  });

  it('fails closed with 3003: timeout, app down, non-2xx, not JSON, a wrong shape', async () => {
    app = await startHookApp(SECRET, (request, res) => {
      if (request.path === '/slow') return new Promise(() => undefined);
      if (request.path === '/500') return void res.writeHead(500).end();
      if (request.path === '/text') return void res.writeHead(200).end('yes');
      return { allow: 'yes' };
    });
    const slow = hooksFor(app.url, { subscribe: `${app.url}/slow`, timeout: 100 });
    await expect(slow.subscribe(USER, CONTEXT, 'room:1')).rejects.toMatchObject({
      wireCode: ErrorCode.HookUnavailable,
      outcome: 'timeout',
    });
    for (const [path, outcome] of [
      ['/500', 'invalid'],
      ['/text', 'invalid'],
      ['/shape', 'invalid'],
    ] as const) {
      const hooks = hooksFor(app.url, { subscribe: `${app.url}${path}` });
      const error: unknown = await hooks.subscribe(USER, CONTEXT, 'room:1').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HookFailure);
      expect(error).toMatchObject({ wireCode: ErrorCode.HookUnavailable, outcome });
    }
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const down = hooksFor(`http://127.0.0.1:${port}`);
    await expect(down.subscribe(USER, CONTEXT, 'room:1')).rejects.toMatchObject({
      wireCode: ErrorCode.HookUnavailable,
      outcome: 'unreachable',
    });
  });

  it('holds at most `concurrency` calls per hook in flight and refuses past `maxQueued` at once', async () => {
    const release: (() => void)[] = [];
    app = await startHookApp(SECRET, () => new Promise((resolve) => release.push(() => resolve({ allow: true }))));
    const hooks = hooksFor(app.url, { concurrency: 4, maxQueued: 6, timeout: 10_000 });
    const calls = Array.from({ length: 12 }, (_, i) =>
      hooks.subscribe(USER, CONTEXT, `room:${i}`).then(
        () => 'ok',
        (e: unknown) => (e as { outcome?: string }).outcome,
      ),
    );
    await app.requests.count(4);
    // 4 in flight, 6 waiting, 2 refused at once.
    const drain = async (): Promise<void> => {
      while (release.length > 0 || app!.requests.items.length < 10) {
        release.shift()?.();
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await drain();
    const outcomes = await Promise.all(calls);
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(10);
    expect(outcomes.filter((o) => o === 'busy')).toHaveLength(2);
    expect(app.maxInFlight).toBe(4);
  });

  it('rejects bad options with the option named', () => {
    expect(() => new ProxyHooks({ secrets: ['short'] }, { clock: systemClock })).toThrow(/hooks.secrets/);
    expect(() => new ProxyHooks({ secrets: [SECRET], connect: 'ftp://x' }, { clock: systemClock })).toThrow(/hooks.connect/);
    expect(() => new ProxyHooks({ secrets: [SECRET], concurrency: 0 }, { clock: systemClock })).toThrow(/hooks.concurrency/);
  });
});
