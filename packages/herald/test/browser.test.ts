import type { IncomingMessage } from 'node:http';
import { encodePosition } from '@herald/protocol';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { RunningHub } from '../src/start.js';
import {
  launchChromium,
  startDevHub,
  demoState,
  openDemo,
  PANELS,
  range,
  received,
  waitForDemo,
  waitForOffsets,
  type DemoPage,
} from './demo-page.js';

// The landing page in Debian's Chromium against a real hub on real sockets: the three native
// snippets (polling, EventSource, WebSocket) on one channel, publishing from Node and from the page,
// and the browser's own EventSource reconnect after the hub drops the stream.

let browser: Browser;
let hub: RunningHub;
const opened: DemoPage[] = [];

beforeAll(async () => {
  hub = await startDevHub();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await hub?.server.close();
});

afterEach(async () => {
  for (const demo of opened.splice(0)) await demo.page.close();
});

async function open(channel: string, prepare?: (page: Page) => void): Promise<DemoPage> {
  const demo = await openDemo(browser, hub.url, channel, prepare);
  opened.push(demo);
  return demo;
}

async function publish(channel: string, data: unknown): Promise<{ epoch: string; offset: number }> {
  const res = await fetch(`${hub.url}/api/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { epoch: string; offset: number };
}

function codeOf(page: Page, panel: string): Promise<string> {
  return page.locator(`#${panel}-code`).innerText();
}

describe('landing page', { timeout: 60_000 }, () => {
  it('is served at / and shows the three snippets it runs', async () => {
    const res = await fetch(`${hub.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    await res.text();

    const { page, errors } = await open('browser-snippets');
    const poll = await codeOf(page, 'poll');
    expect(poll).toContain('setInterval(poll, 2000)');
    expect(poll).toContain('await fetch(url)');
    expect(poll).toContain('`api/messages?channel=${q}&since=${cursor}`');
    const sse = await codeOf(page, 'sse');
    expect(sse).toContain('new EventSource(`events?channel=${q}`)');
    expect(sse).toContain('events.onmessage =');
    const ws = await codeOf(page, 'ws');
    expect(ws).toContain("new URL('ws', location.href)");
    expect(ws).toContain('new WebSocket(url)');
    expect(ws).toContain('ws.onmessage =');
    expect(ws).toContain('ws.send(');
    expect(await page.inputValue('#channel')).toBe('browser-snippets');
    for (const panel of PANELS) expect(await page.getAttribute(`#${panel}-state`, 'data-state')).toBe('live');
    expect(errors).toEqual([]);
  });

  it('delivers a message published over the HTTP API to the polling, EventSource and WebSocket panels', async () => {
    const channel = 'browser-http';
    const { page, errors } = await open(channel);
    const hostile = '<img src=x onerror="window.pwned=1">';
    const first = await publish(channel, 'hello from node');
    const second = await publish(channel, { text: hostile, n: 2 });
    expect([first.offset, second.offset]).toEqual([1, 2]);

    for (const panel of PANELS) {
      await waitForOffsets(page, panel, [1, 2]);
      const envelopes = await received(page, panel);
      expect(envelopes.map((e) => [e.channel, e.epoch, e.offset, e.data])).toEqual([
        [channel, first.epoch, 1, 'hello from node'],
        [channel, first.epoch, 2, { text: hostile, n: 2 }],
      ]);
      // Rendered as text, never as markup.
      const rows = page.locator(`#${panel}-log li[data-offset]`);
      expect(await rows.count()).toBe(2);
      expect(await page.locator(`#${panel}-log li[data-offset="1"]`).innerText()).toContain('"hello from node"');
      expect(await page.locator(`#${panel}-log li[data-offset="2"]`).innerText()).toContain('<img src=x');
      expect(await page.locator(`#${panel}-log img`).count()).toBe(0);
    }
    expect(await page.evaluate<unknown>('window.pwned')).toBeUndefined();
    expect(errors).toEqual([]);
  });

  it('delivers a publish sent on the page’s WebSocket to the page’s EventSource', async () => {
    const channel = 'browser-ws-publish';
    // Frames sent, per socket: the SDK panel opens a WebSocket of its own.
    const socketsFrames: string[][] = [];
    const httpPublishes: string[] = [];
    const { page, errors } = await open(channel, (p) => {
      p.on('websocket', (socket) => {
        const frames: string[] = [];
        socketsFrames.push(frames);
        socket.on('framesent', (frame) => frames.push(String(frame.payload)));
      });
      p.on('request', (request) => {
        if (request.url().endsWith('/api/publish')) httpPublishes.push(request.url());
      });
    });

    const text = `from the browser's WebSocket ${Date.now()}`;
    await page.fill('#publish-data', text);
    await page.click('#publish-ws');

    await waitForDemo(
      page,
      'the EventSource panel to receive the WebSocket publish',
      (demo, arg) => demo.sse.some((e) => e.data === arg),
      text,
    );
    await waitForDemo(page, 'the publish reply', (demo) => demo.publishes.length === 1, null);
    const state = await demoState(page);
    expect(state.publishes).toEqual([{ via: 'ws', data: text, offset: 1 }]);
    expect(state.sse.map((e) => [e.offset, e.data])).toEqual([[1, text]]);
    expect(await page.locator('#publish-status').innerText()).toContain('offset 1');
    // It travelled as a publish command on the panel's socket, not over HTTP nor on another socket.
    expect(httpPublishes).toEqual([]);
    const published = socketsFrames
      .map((frames) => frames.map((f) => JSON.parse(f)))
      .filter((frames) => frames.some((f) => f.type === 'publish'));
    expect(published).toEqual([
      [
        { id: 1, type: 'subscribe', channel },
        { id: 2, type: 'publish', channel, data: text },
      ],
    ]);
    expect(state.opens.ws).toBe(1);

    // The other two panels see it as well.
    await waitForOffsets(page, 'poll', [1]);
    await waitForOffsets(page, 'ws', [1]);
    expect(errors).toEqual([]);
  });

  it('resumes the EventSource with Last-Event-ID after the hub drops the stream, losing nothing', async () => {
    const channel = 'browser-sse-resume';
    const { page, errors } = await open(channel);
    // What the hub itself receives on the stream requests from now on (the first one is done).
    const lastEventIds: (string | undefined)[] = [];
    const onRequest = (req: IncomingMessage): void => {
      if (req.url?.startsWith('/events?') === true) lastEventIds.push(req.headers['last-event-id'] as string | undefined);
    };
    hub.server.server.on('request', onRequest);
    onTestFinished(() => void hub.server.server.off('request', onRequest));

    let epoch = '';
    for (const n of range(1, 5)) epoch = (await publish(channel, `before ${n}`)).epoch;
    await waitForOffsets(page, 'sse', range(1, 5));
    expect((await demoState(page)).opens.sse).toBe(1);

    // The hub sends `retry: 2000`, so everything published right after the drop is published while
    // the browser has no stream; only the resume from Last-Event-ID can deliver it.
    hub.server.dropConnections();
    for (const n of range(6, 10)) await publish(channel, `while disconnected ${n}`);
    await waitForDemo(page, 'the EventSource to reconnect', (demo) => demo.opens.sse >= 2 && demo.state.sse === 'live', null);
    for (const n of range(11, 12)) await publish(channel, `after ${n}`);
    // Offsets arrive in order, so once the last one is in, anything owed before it has arrived too.
    for (const panel of PANELS) await waitForOffsets(page, panel, range(1, 12));

    const sse = await received(page, 'sse');
    expect(sse.map((e) => e.offset)).toEqual(range(1, 12));
    expect(new Set(sse.map((e) => e.epoch))).toEqual(new Set([epoch]));
    expect(sse.map((e) => e.data)).toEqual([
      ...range(1, 5).map((n) => `before ${n}`),
      ...range(6, 10).map((n) => `while disconnected ${n}`),
      'after 11',
      'after 12',
    ]);
    expect((await demoState(page)).opens.sse).toBe(2);
    // The reconnect carried the cursor of the last event the browser saw.
    expect(lastEventIds).toEqual([encodePosition(channel, { epoch, offset: 5 })]);
    // The polling panel never noticed; the page's own WebSocket reconnect resumed with `since`.
    for (const panel of ['poll', 'ws'] as const) expect((await received(page, panel)).map((e) => e.offset)).toEqual(range(1, 12));
    expect(errors).toEqual([]);
  });

  it('switches all three panels to another channel', async () => {
    const { page, errors } = await open('browser-switch-a');
    await page.fill('#channel', 'bad channel');
    await page.click('#channel-switch');
    expect(await page.getAttribute('#channel', 'aria-invalid')).toBe('true');
    expect((await demoState(page)).channel).toBe('browser-switch-a');

    await page.fill('#channel', 'browser-switch-b');
    await page.click('#channel-switch');
    await waitForDemo(
      page,
      'the panels to subscribe to the new channel',
      (demo) => demo.channel === 'browser-switch-b' && demo.ready.poll && demo.ready.sse && demo.ready.ws,
      null,
    );
    expect(new URL(page.url()).searchParams.get('channel')).toBe('browser-switch-b');
    await publish('browser-switch-a', 'old channel');
    await publish('browser-switch-b', 'new channel');
    for (const panel of PANELS) {
      await waitForOffsets(page, panel, [1]);
      expect((await received(page, panel)).map((e) => [e.channel, e.data])).toEqual([['browser-switch-b', 'new channel']]);
    }
    expect(errors).toEqual([]);
  });
});
