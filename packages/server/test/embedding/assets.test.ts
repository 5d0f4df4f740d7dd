import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode } from '@herald/protocol';
import { createHerald, createHeraldServer } from '@herald/server';
import { afterEach, describe, expect, it } from 'vitest';

// The landing page, the SDK bundle and extra routes under a mount path: where they answer, the
// redirect that makes the page's relative URLs work, and the bundle's exemption from the origin check.

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const BUNDLE = 'export const createClient = () => {};';

async function mountedHub(): Promise<string> {
  const herald = createHerald({
    path: '/realtime',
    landingPage: '<p>landing</p>',
    clientBundle: BUNDLE,
    security: { allowedOrigins: ['https://shop.example'] },
    routes: (_req, res, url) => {
      if (url.pathname !== '/custom') return false;
      res.end(`custom ${url.search}`);
      return true;
    },
  });
  const server = createServer((_req, res) => res.end('app'));
  herald.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () => new Promise<void>((resolve) => server.close(() => resolve())),
    () => herald.close(),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('assets under a mount path', () => {
  it('serves the landing page at /realtime/ and redirects /realtime there with its query (308)', async () => {
    const url = await mountedHub();
    const redirect = await fetch(`${url}/realtime?channel=a&x=1`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/realtime/?channel=a&x=1');
    const bare = await fetch(`${url}/realtime`, { redirect: 'manual' });
    expect(bare.headers.get('location')).toBe('/realtime/');
    expect(await (await fetch(`${url}/realtime/`)).text()).toBe('<p>landing</p>');
    expect(await (await fetch(`${url}/realtime/?channel=a`)).text()).toBe('<p>landing</p>');
  });

  it('serves the SDK bundle to a page of any origin, while the API refuses a disallowed one (403)', async () => {
    const url = await mountedHub();
    const bundle = await fetch(`${url}/realtime/sdk/herald-client.js`, { headers: { origin: 'https://elsewhere.example' } });
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('access-control-allow-origin')).toBe('*');
    expect(await bundle.text()).toBe(BUNDLE);
    const api = await fetch(`${url}/realtime/api/messages?channel=a`, { headers: { origin: 'https://elsewhere.example' } });
    expect(api.status).toBe(403);
    expect(((await api.json()) as { error: { code: number } }).error.code).toBe(ErrorCode.Forbidden);
    const allowed = await fetch(`${url}/realtime/api/messages?channel=a`, { headers: { origin: 'https://shop.example' } });
    expect(allowed.status).toBe(200);
  });

  it('hands extra routes the path under the mount path, with the query', async () => {
    const url = await mountedHub();
    expect(await (await fetch(`${url}/realtime/custom?a=1`)).text()).toBe('custom ?a=1');
    expect(await (await fetch(`${url}/custom`)).text()).toBe('app');
  });

  it('at the root of createHeraldServer: the bundle without a landing page, / answering 404', async () => {
    const hub = createHeraldServer({ clientBundle: BUNDLE });
    cleanups.push(() => hub.close());
    const port = await hub.listen(0);
    expect(await (await fetch(`http://127.0.0.1:${port}/sdk/herald-client.js`)).text()).toBe(BUNDLE);
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/sdk/herald-client.js`, { method: 'POST' })).status).toBe(405);
  });
});
