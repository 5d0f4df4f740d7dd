import { createServer, type Server } from 'node:http';
import { createHeraldServer, type HeraldServer } from '@herald/server';
import { eventually } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createDemoHost, DEMOS, type Demo, type DemoHost } from '../src/index.js';

// createDemoHost on a real node:http server, publishing to a real hub.

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function startHub(): Promise<{ hub: HeraldServer; url: string }> {
  const hub = createHeraldServer({});
  const port = await hub.listen(0, '127.0.0.1');
  closers.push(() => hub.close());
  return { hub, url: `http://127.0.0.1:${port}` };
}

async function serve(host: DemoHost): Promise<string> {
  const server: Server = createServer((req, res) => {
    if (!host.handle(req, res, new URL(req.url ?? '/', 'http://x'))) {
      res.writeHead(418);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** A demo whose simulator publishes a counter every `interval` ms and whose route echoes. */
function ticker(interval: number): Demo {
  return {
    name: 'ticker',
    title: 'Ticker',
    summary: 'Counts.',
    transport: 'sse',
    why: 'One way.',
    backend: () => {
      let timer: ReturnType<typeof setInterval> | undefined;
      let n = 0;
      let last: Promise<unknown> = Promise.resolve();
      return {
        routes: {
          'api/echo': { method: 'POST', handle: ({ body }) => Promise.resolve({ status: 201, body: { echo: body } }) },
        },
        simulator: {
          start(publisher) {
            timer = setInterval(() => {
              last = publisher.publish('ticks', ++n);
            }, interval);
          },
          async stop() {
            clearInterval(timer);
            await last;
          },
        },
      };
    },
  };
}

describe('createDemoHost', () => {
  it('refuses a bad or repeated demo name with a TypeError', () => {
    const publisher = { publish: () => Promise.reject(new Error('unused')) };
    expect(() => createDemoHost({ publisher, demos: [{ ...ticker(1), name: 'Bad Name' }] })).toThrow(
      new TypeError('demo name must be lowercase letters, digits and -, got "Bad Name"'),
    );
    expect(() => createDemoHost({ publisher, demos: [ticker(1), ticker(1)] })).toThrow(new TypeError('demo "ticker" is registered twice'));
    for (const name of ['assets', 'choosing-a-transport'])
      expect(() => createDemoHost({ publisher, demos: [{ ...ticker(1), name }] })).toThrow(
        new TypeError(`demo name "${name}" is a path of the demo host's own`),
      );
    expect(DEMOS.map((demo) => demo.name)).toEqual(['chat', 'notifications', 'dashboard', 'flash-sale', 'feed', 'game', 'collab']);
  });

  it('serves the index, the pages with the hub URL and header, routes, and leaves other paths alone', async () => {
    const { hub } = await startHub();
    const host = createDemoHost({ publisher: hub.herald, hubUrl: 'http://hub.example:3000' });
    const url = await serve(host);
    const index = await fetch(`${url}/demo/`);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await index.text();
    for (const demo of DEMOS) expect(html).toContain(`href="${demo.name}/"`);
    const redirect = await fetch(`${url}/demo/chat?x=1`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([308, '/demo/chat/?x=1']);
    const page = await (await fetch(`${url}/demo/chat/`)).text();
    expect(page).toContain('<meta name="herald-url" content="http://hub.example:3000" />');
    expect(page).toContain('<strong>Uses WebSocket.</strong>');
    expect(page).not.toContain('<!-- demo:header -->');
    expect((await fetch(`${url}/demo/chat/main.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const missing = await fetch(`${url}/demo/chat/nothing`);
    expect([missing.status, ((await missing.json()) as { error: { code: number } }).error.code]).toEqual([404, 1010]);
    expect(html).toContain('href="choosing-a-transport/"');
    const guideRedirect = await fetch(`${url}/demo/choosing-a-transport`, { redirect: 'manual' });
    expect([guideRedirect.status, guideRedirect.headers.get('location')]).toEqual([308, '/demo/choosing-a-transport/']);
    const guide = await fetch(`${url}/demo/choosing-a-transport/`);
    expect(guide.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const guideHtml = await guide.text();
    expect(guideHtml).toContain('<title>Herald · Choosing a transport</title>');
    expect(guideHtml).toContain('<svg class="mark"');
    expect(guideHtml).not.toContain('<!-- demo:mark -->');
    const picture = await fetch(`${url}/demo/assets/bench-report.png`);
    expect(picture.headers.get('content-type')).toBe('image/png');
    // The PNG signature: the bytes went out as they are on disk, not through a text decoding.
    expect([...new Uint8Array(await picture.arrayBuffer()).subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect((await fetch(`${url}/demo/choosing-a-transport/main.js`)).status).toBe(404);
    expect((await fetch(`${url}/elsewhere`)).status).toBe(418);
    expect((await fetch(`${url}/demonstration`)).status).toBe(418);
    const post = await fetch(`${url}/demo/`, { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    await post.body?.cancel();
  });

  it('runs simulators from start() to stop(), publishing to the hub, and answers backend routes', async () => {
    const { hub, url: hubUrl } = await startHub();
    const host = createDemoHost({ publisher: hub.herald, demos: [ticker(5)] });
    const url = await serve(host);
    const echo = await fetch(`${url}/demo/ticker/api/echo`, { method: 'POST', body: '{"a":1}' });
    expect([echo.status, await echo.json()]).toEqual([201, { echo: { a: 1 } }]);
    const history = async (): Promise<unknown[]> =>
      ((await (await fetch(`${hubUrl}/api/history?channel=ticks`)).json()) as { messages: unknown[] }).messages;
    expect(await history()).toEqual([]);
    host.start();
    await eventually(async () => (await history()).length >= 2, 'the simulator published');
    await host.stop();
    const stopped = (await history()).length;
    // Published after stop() resolved: nothing from the simulator lands any more.
    await hub.herald.publish('ticks', 'marker');
    const after = await history();
    expect(after).toHaveLength(stopped + 1);
  });
});
