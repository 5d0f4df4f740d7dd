import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHerald, type Herald } from '@herald/server';
import express from 'express';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { landingPageOptions } from '../src/landing-page.js';
import { launchChromium, PANELS, received, waitForDemo, waitForOffsets } from './demo-page.js';

// The landing page and the SDK bundle mounted under /realtime on an Express app's server, in
// Debian's Chromium: the page loads from /realtime/, every one of its requests stays under the
// prefix, and all four panels (polling, EventSource, WebSocket, the SDK) receive a message.

let browser: Browser;
let herald: Herald;
let server: Server;
let url: string;

beforeAll(async () => {
  herald = createHerald({ path: '/realtime', ...landingPageOptions() });
  const app = express();
  app.get('/', (_req, res) => {
    res.send('the shop');
  });
  server = createServer(app);
  herald.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await herald?.close();
  await new Promise((resolve) => server?.close(resolve));
});

describe('the landing page mounted at /realtime on an Express app', { timeout: 60_000 }, () => {
  it('is served at /realtime/ (/realtime redirects there) next to the app’s own /', async () => {
    const redirect = await fetch(`${url}/realtime?channel=a`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/realtime/?channel=a');
    const page = await fetch(`${url}/realtime/`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('<title>Herald · live demo</title>');
    const bundle = await fetch(`${url}/realtime/sdk/herald-client.js`);
    expect(bundle.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await bundle.text()).toContain('createClient');
    expect(await (await fetch(`${url}/`)).text()).toBe('the shop');
  });

  it('connects all four panels under the prefix and each receives a message published in the app’s process', async () => {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    const errors: string[] = [];
    const requested: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('request', (request) => requested.push(new URL(request.url()).pathname));
    page.on('websocket', (socket) => requested.push(`ws ${new URL(socket.url()).pathname}`));
    try {
      const channel = 'mounted-demo';
      await page.goto(`${url}/realtime?channel=${channel}`);
      expect(new URL(page.url()).pathname).toBe('/realtime/');
      await waitForDemo(page, 'all four panels to subscribe', (demo) => demo.ready.poll && demo.ready.sse && demo.ready.ws, null);
      await page.waitForFunction('window.heraldDemo.ready.sdk === true', undefined, { timeout: 20_000 });

      const first = await herald.publish(channel, 'hello from the app');
      const second = await herald.publish(channel, { n: 2 });
      for (const panel of PANELS) {
        await waitForOffsets(page, panel, [first.offset, second.offset]);
        expect((await received(page, panel)).map((e) => [e.channel, e.offset, e.data])).toEqual([
          [channel, 1, 'hello from the app'],
          [channel, 2, { n: 2 }],
        ]);
      }
      await page.waitForFunction('window.heraldDemo.sdk.length === 2', undefined, { timeout: 20_000 });
      expect(await page.evaluate<unknown>('window.heraldDemo.sdk.map((e) => e.data)')).toEqual(['hello from the app', { n: 2 }]);

      // After the navigation to /realtime (redirected), every request of the page went to the hub
      // under the prefix, none to the app's paths.
      expect(requested.slice(0, 2)).toEqual(['/realtime', '/realtime/']);
      expect(requested.length).toBeGreaterThan(5);
      expect(requested.slice(1).filter((path) => !path.replace(/^ws /, '').startsWith('/realtime/'))).toEqual([]);
      expect(requested).toContain('ws /realtime/ws');
      expect(requested).toContain('/realtime/sdk/herald-client.js');
      expect(await page.locator('#origin').innerText()).toBe(`hub: ${url}/realtime/`);
      expect(await page.locator('footer').innerText()).toContain('WS /realtime/ws');
      // This hub serves no demos: the page links to neither them nor the transport guide, it names the file.
      expect(await page.locator('#demo-apps-link').isVisible()).toBe(false);
      expect(await page.locator('#guide-link').isVisible()).toBe(false);
      expect(await page.locator('#advisor-link').isVisible()).toBe(false);
      expect(await page.locator('#choosing-a-transport').innerText()).toContain('docs/choosing-a-transport.md in the Herald repository');
      expect(errors).toEqual([]);

      mkdirSync(new URL('../../../.tmp/', import.meta.url), { recursive: true });
      await page.screenshot({ path: new URL('../../../.tmp/mounted-landing.png', import.meta.url).pathname, fullPage: false });
    } finally {
      await page.close();
    }
  });
});
