import { randomBytes } from 'node:crypto';
import { CloseCode } from '@herald/protocol';
import { silentLogger } from '@herald/server';
import { SignJWT } from 'jose';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { configSchema } from '../src/config.js';
import { startHub, type RunningHub } from '../src/start.js';
import { launchChromium, WAIT_MS } from './demo-page.js';

// The operations console at /admin of a production-profile hub (tokens, an API key, deny by
// default, no allowed origin), in Debian's Chromium: log in with the API key, tail a channel and
// see a message published over HTTP arrive, disconnect a WebSocket client of the test's.

const SECRET = randomBytes(32).toString('base64url');
const API_KEY = `console-${randomBytes(12).toString('hex')}`;
let browser: Browser;
let hub: RunningHub;

beforeAll(async () => {
  const config = configSchema.parse({
    port: 0,
    host: '127.0.0.1',
    auth: { secret: SECRET },
    apiKeys: [API_KEY],
    namespaces: { room: { subscribe: 'granted', publish: 'granted', history: 'granted', presence: 'granted' } },
  });
  hub = await startHub(config, 'production', silentLogger);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await hub?.server.close();
});

const token = (sub: string): Promise<string> =>
  new SignJWT({ channels: ['room:*'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime('1h')
    .sign(Buffer.from(SECRET));

async function logIn(page: Page): Promise<void> {
  await page.goto(`${hub.url}/admin`);
  await page.locator('#login').waitFor({ state: 'visible' });
  await page.fill('#secret', 'not-the-key-0123456789');
  await page.click('#login-button');
  await expect.poll(() => page.textContent('#login-error'), { timeout: WAIT_MS }).toBe('the API key is not valid');
  await page.fill('#secret', API_KEY);
  await page.click('#login-button');
  await page.locator('#console').waitFor({ state: 'visible' });
  await page.locator('#nodes tr[data-node]').waitFor();
}

describe('the operations console on a production hub', { timeout: 60_000 }, () => {
  it('logs in with the API key, keeps it out of URLs and cookies, and shows a message published over HTTP in the tail', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    const urls: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('request', (request) => urls.push(request.url()));
    try {
      await logIn(page);
      expect(
        await page.evaluate(() =>
          (globalThis as unknown as { sessionStorage: { getItem(key: string): string | null } }).sessionStorage.getItem(
            'herald-admin-credential',
          ),
        ),
      ).toContain(API_KEY);
      await page.fill('#tail-channel', 'room:tail');
      await page.click('#tail-start');
      await expect.poll(() => page.textContent('#tail-state'), { timeout: WAIT_MS }).toBe('room:tail: subscribed');
      const published = await fetch(`${hub.url}/api/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-herald-key': API_KEY },
        body: JSON.stringify({ channel: 'room:tail', data: { text: 'hello from curl' } }),
      });
      expect(published.status).toBe(200);
      await page.locator('#tail-log .msg', { hasText: '{"text":"hello from curl"}' }).waitFor({ timeout: WAIT_MS });
      expect(await page.textContent('#tail-log .msg')).toMatch(/^#1 /);

      // The console's publish form, seen in its own tail.
      await page.fill('#publish-channel', 'room:tail');
      await page.fill('#publish-data', '{"text":"from the console"}');
      await page.click('#publish-form button[type=submit]');
      await page.locator('#tail-log .msg', { hasText: 'from the console' }).waitFor({ timeout: WAIT_MS });
      expect(await page.textContent('#publish-result')).toBe('stored at offset 2');

      expect(urls.filter((url) => url.includes(API_KEY))).toEqual([]);
      expect(await page.context().cookies()).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('lists a WebSocket client of the test’s and disconnects it: the client is closed with 4502 and leaves the list', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const ws = new WebSocket(`${hub.url.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${await token('alice')}` } });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      ws.send(JSON.stringify({ id: 1, type: 'subscribe', channel: 'room:7' }));
      await logIn(page);
      const row = page.locator('#connections tr[data-client]', { hasText: 'alice' });
      await row.waitFor({ timeout: WAIT_MS });
      expect(await row.textContent()).toContain('room:7');
      await expect.poll(() => page.locator('#channels tr[data-channel="room:7"]').count(), { timeout: WAIT_MS }).toBe(1);
      await row.getByRole('button', { name: 'Disconnect' }).click();
      expect(await closed).toBe(CloseCode.Disconnected);
      await expect.poll(() => row.count(), { timeout: WAIT_MS }).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      ws.terminate();
      await page.close();
    }
  });
});
