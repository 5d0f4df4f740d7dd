// Screenshots of the operations console (docs/images/admin-console.png and a 390 px phone view in
// the directory given, default /tmp): a hub like the production profile, a few WebSocket and SSE
// clients, messages published at a changing rate for about 30 s so the charts have a shape, then
// a tail and a publish in the page. Needs `npm run build` first. Usage:
//   node packages/herald/scripts/console-screenshots.mjs [phone-output-dir]
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createHeraldServer, DENY_ALL, JwtAuthenticator, Permissions } from '@herald/server';
import { SignJWT } from 'jose';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';
import { loadAdminPage, loadClientBundle } from '../dist/index.js';

const SECRET = randomBytes(32).toString('base64url');
const API_KEY = `screens-${randomBytes(12).toString('hex')}`;
const DOCS_IMAGE = fileURLToPath(new URL('../../../docs/images/admin-console.png', import.meta.url));
const phoneDir = process.argv[2] ?? '/tmp';
const open = { subscribe: 'granted', publish: 'granted', history: 'granted', presence: 'granted' };

const server = createHeraldServer({
  security: {
    authenticator: new JwtAuthenticator({ secret: SECRET }),
    permissions: new Permissions({ chat: open, prices: open, orders: open }, DENY_ALL),
    apiKeys: [API_KEY],
    allowedOrigins: [],
    requireAuth: true,
  },
  adminPage: loadAdminPage(),
  clientBundle: loadClientBundle(),
  adminSampleInterval: 500,
});
const port = await server.listen(0, '127.0.0.1');
const url = `http://127.0.0.1:${port}`;
const token = (sub) =>
  new SignJWT({ channels: ['chat:*', 'prices:*', 'orders:*'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime('1h')
    .sign(Buffer.from(SECRET));
const sockets = [];
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const publish = (channel, data) =>
  fetch(`${url}/api/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-herald-key': API_KEY },
    body: JSON.stringify({ channel, data }),
  });

async function wsClient(user, channels) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${await token(user)}` } });
  await new Promise((resolve) => ws.once('open', resolve));
  channels.forEach((channel, i) => ws.send(JSON.stringify({ id: i + 1, type: 'subscribe', channel })));
  sockets.push(ws);
}
async function sseClient(user, channel) {
  const controller = new AbortController();
  const res = await fetch(`${url}/events?channel=${channel}`, {
    headers: { authorization: `Bearer ${await token(user)}` },
    signal: controller.signal,
  });
  void res.body.pipeTo(new WritableStream()).catch(() => undefined);
  sockets.push({ close: () => controller.abort() });
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const users = ['alice', 'bob', 'carol', 'dave', 'erin'];
  for (const [i, user] of users.entries()) {
    await wsClient(user, i % 2 === 0 ? ['chat:lobby', 'prices:eur'] : ['chat:lobby']);
    await wait(700);
  }
  await sseClient('frank', 'prices:eur');
  await sseClient('grace', 'orders:42');
  for (let i = 0; i < 60; i++) {
    const burst = 1 + Math.round(4 + 4 * Math.sin(i / 6));
    for (let j = 0; j < burst; j++) await publish(j % 3 === 0 ? 'chat:lobby' : 'prices:eur', { n: i, price: 1.08 + j / 1000 });
    if (i === 30) await wsClient('heidi', ['orders:42']);
    await wait(450);
  }

  // Messages keep flowing while the page is shown, so the rates are not all 0.
  let flowing = true;
  const flow = (async () => {
    for (let i = 0; flowing; i++) {
      await publish(i % 3 === 0 ? 'chat:lobby' : 'prices:eur', { n: i, price: 1.08 });
      await wait(i % 3 === 0 ? 400 : 150);
    }
  })();
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${url}/admin`);
  await page.fill('#secret', API_KEY);
  await page.click('#login-button');
  await page.locator('#nodes tr[data-node]').waitFor();
  await page.fill('#tail-channel', 'chat:lobby');
  await page.click('#tail-start');
  await page.waitForFunction(() => document.querySelector('#tail-state')?.textContent?.endsWith('subscribed'));
  for (let i = 1; i <= 4; i++) await publish('chat:lobby', { user: 'bob', text: `message ${i}` });
  await page.fill('#publish-channel', 'chat:lobby');
  await page.fill('#publish-data', '{"text": "maintenance at 22:00"}');
  await page.click('#publish-form button[type=submit]');
  await page.fill('#presence-channel', 'chat:lobby');
  await page.click('#presence-form button[type=submit]');
  await page.locator('#presence tr td code').first().waitFor();
  await page.locator('#tail-log .msg', { hasText: 'maintenance' }).waitFor();
  await wait(1200);
  await page.screenshot({ path: DOCS_IMAGE, fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await wait(600);
  await page.screenshot({ path: `${phoneDir}/admin-console-phone.png`, fullPage: true });
  flowing = false;
  await flow;
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  console.log(`desktop: ${DOCS_IMAGE}\nphone: ${phoneDir}/admin-console-phone.png (page ${wide} px wide at 390)`);
} finally {
  await browser.close();
  for (const socket of sockets) socket.close();
  await server.close();
}
