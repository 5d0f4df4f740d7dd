import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHeraldServer, type HeraldServer } from '@herald/server';
import { SignJWT } from 'jose';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, WAIT_MS } from './demo-page.js';

// Chromium's native EventSource on the Mercure door, from a page of another origin (the hub allows
// it, with credentials): the subscriber JWT travels in the mercureAuthorization cookie, a private
// update posted with fetch arrives, and after the hub drops the stream the browser's own reconnect
// (Last-Event-ID) delivers what was posted meanwhile, without loss or duplicate.

const KEY = 'mercure-browser-key-0123456789-abcdef';
const TOPIC = 'https://example.com/books/42';

let browser: Browser;
let hub: HeraldServer;
let hubUrl: string;
let site: Server;
let siteUrl: string;

const jwt = (mercure: Record<string, unknown>): Promise<string> =>
  new SignJWT({ mercure }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(KEY));

async function publish(data: string): Promise<void> {
  const res = await fetch(`${hubUrl}/.well-known/mercure`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${await jwt({ publish: ['*'] })}` },
    body: new URLSearchParams([
      ['topic', TOPIC],
      ['data', data],
      ['private', 'on'],
    ]).toString(),
  });
  expect(res.status).toBe(200);
  await res.text();
}

beforeAll(async () => {
  site = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>mercure</title><p>subscriber</p>');
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  hub = createHeraldServer({ mercure: { jwtKey: KEY }, security: { allowedOrigins: [siteUrl] }, sseRetry: 100 });
  hubUrl = `http://127.0.0.1:${await hub.listen(0, '127.0.0.1')}`;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await hub?.close();
  await new Promise((resolve) => site?.close(resolve));
});

describe('Mercure in Chromium', { timeout: 60_000 }, () => {
  it('EventSource with credentials receives private updates and resumes after a dropped stream', async () => {
    const context = await browser.newContext();
    try {
      await context.addCookies([{ name: 'mercureAuthorization', value: await jwt({ subscribe: [TOPIC] }), url: hubUrl }]);
      const page = await context.newPage();
      await page.goto(siteUrl);
      await page.evaluate(
        ([url]) => {
          const state = { got: [] as { data: string; id: string }[], opens: 0 };
          (globalThis as unknown as { state: typeof state }).state = state;
          const source = new EventSource(url!, { withCredentials: true });
          source.onopen = () => state.opens++;
          source.onmessage = (event) => state.got.push({ data: event.data as string, id: event.lastEventId });
        },
        [`${hubUrl}/.well-known/mercure?topic=${encodeURIComponent(TOPIC)}`],
      );
      const wait = (expression: string): Promise<unknown> => page.waitForFunction(expression, undefined, { timeout: WAIT_MS, polling: 50 });
      await wait('window.state.opens === 1');
      await publish('one');
      await wait('window.state.got.length === 1');
      hub.dropConnections();
      await publish('two');
      await publish('three');
      await wait('window.state.opens === 2 && window.state.got.length >= 3');
      await publish('four');
      await wait('window.state.got.length >= 4');
      const state = await page.evaluate<{ got: { data: string; id: string }[] }>('window.state');
      expect(state.got.map((e) => e.data)).toEqual(['one', 'two', 'three', 'four']);
      expect(state.got.every((e) => e.id.startsWith('#c1.'))).toBe(true);
    } finally {
      await context.close();
    }
  });
});
