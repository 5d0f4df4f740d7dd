import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createHeraldServer, silentLogger, type HeraldServer } from '@herald/server';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './demo-page.js';

// pusher-js's browser build in Debian's Chromium, connected to a hub's Pusher door (/app/{key}):
// a message published through Herald's own HTTP API reaches it as a Pusher event.

const PUSHER_JS = readFileSync(join(dirname(createRequire(import.meta.url).resolve('pusher-js/package.json')), 'dist/web/pusher.min.js'));

let browser: Browser;
let hub: HeraldServer;
let hubPort: number;
let site: Server;
let siteUrl: string;

beforeAll(async () => {
  hub = createHeraldServer({ logger: silentLogger, pusher: { apps: [{ id: 'app1', key: 'browser-key', secret: 'browser-secret' }] } });
  hubPort = await hub.listen(0, '127.0.0.1');
  // The app's page and pusher-js, from another origin than the hub's (as an app's site would be).
  site = createServer((req, res) => {
    if (req.url === '/pusher.min.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(PUSHER_JS);
    else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script src="/pusher.min.js"></script>');
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await hub?.close();
  await new Promise<void>((resolve) => (site ? site.close(() => resolve()) : resolve()));
});

describe('pusher-js in Chromium', { timeout: 60_000 }, () => {
  it('receives a message published through Herald’s HTTP API on the mapped channel', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(siteUrl);
      await page.evaluate((port) => {
        const w = globalThis as unknown as { Pusher: new (key: string, options: object) => any; received: unknown[]; ready: boolean };
        w.received = [];
        const pusher = new w.Pusher('browser-key', {
          cluster: 'mt1',
          wsHost: '127.0.0.1',
          wsPort: port,
          forceTLS: false,
          enabledTransports: ['ws'],
          disableStats: true,
        });
        const channel = pusher.subscribe('news');
        channel.bind('pusher:subscription_succeeded', () => (w.ready = true));
        channel.bind('headline', (data: unknown) => w.received.push(data));
      }, hubPort);
      await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true, undefined, { timeout: 20_000 });
      const res = await fetch(`http://127.0.0.1:${hubPort}/api/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'app1:news', data: { event: 'headline', data: { title: 'Herald speaks Pusher' } } }),
      });
      expect(res.status).toBe(200);
      await page.waitForFunction(() => (globalThis as unknown as { received: unknown[] }).received.length === 1, undefined, {
        timeout: 20_000,
      });
      expect(await page.evaluate(() => (globalThis as unknown as { received: unknown[] }).received)).toEqual([
        { title: 'Herald speaks Pusher' },
      ]);
    } finally {
      await page.close();
    }
  });
});
