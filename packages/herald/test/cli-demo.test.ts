import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killAll, runCli, startCli, startCliHub } from './cli-process.js';
import { launchChromium, WAIT_MS } from './demo-page.js';

// `herald demo --url`: the real binary serves the demos on its own port against a hub started
// separately (`herald start`, another process); the pages connect to that hub, the backends
// publish to it with @herald/backend.

let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

afterEach(killAll);

async function openPage(url: string): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: WAIT_MS });
  return { page, errors };
}

describe('herald demo --url', { timeout: 60_000 }, () => {
  it('serves the demos against a separate hub: a backend publish reaches the hub and the page, a chat message crosses', async () => {
    const hub = await startCliHub();
    const demo = startCli(['demo', '--url', hub.url, '--port', '0']);
    const [, demoUrl] = await demo.waitFor(/^Herald demos on (http:\/\/127\.0\.0\.1:\d+)\/demo\/ \(hub: (.*)\)$/m);
    expect(demoUrl).not.toBe(hub.url);

    const index = await fetch(`${demoUrl!}/demo/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('href="notifications/"');

    // Notifications: the page subscribes on the hub; the button asks the demo's backend, which publishes to the hub.
    const inbox = await openPage(`${demoUrl!}/demo/notifications/?user=remote-1`);
    expect(await inbox.page.locator('meta[name="herald-url"]').getAttribute('content')).toBe(hub.url);
    await inbox.page.click('#send-test');
    await inbox.page.locator('#notifications li').first().waitFor({ timeout: WAIT_MS });
    expect(await inbox.page.locator('#badge').innerText()).toBe('1');
    const stored = (await (await fetch(`${hub.url}/api/history?channel=notifications:remote-1`)).json()) as { messages: unknown[] };
    expect(stored.messages).toHaveLength(1);

    // Chat: two browsers on the demo server's pages talk through the hub.
    const ann = await openPage(`${demoUrl!}/demo/chat/?name=ann&room=help`);
    const ben = await openPage(`${demoUrl!}/demo/chat/?name=ben&room=help`);
    await ann.page.fill('#message', 'through the remote hub');
    await ann.page.press('#message', 'Enter');
    await ben.page.locator('#messages li p', { hasText: 'through the remote hub' }).waitFor({ timeout: WAIT_MS });
    const history = (await (await fetch(`${hub.url}/api/history?channel=chat:help`)).json()) as { messages: { data: { text: string } }[] };
    expect(history.messages.map((m) => m.data.text)).toEqual(['through the remote hub']);
    expect([...inbox.errors, ...ann.errors, ...ben.errors]).toEqual([]);
    for (const page of [inbox.page, ann.page, ben.page]) await page.context().close();

    demo.child.kill('SIGTERM');
    expect(await demo.exited).toBe(0);
  });

  it('stops with a clear error when the hub is not reachable', async () => {
    const { status, stderr } = await runCli(['demo', '--url', 'http://127.0.0.1:1', '--port', '0']);
    expect(status).toBe(1);
    expect(stderr).toContain('cannot reach the hub at http://127.0.0.1:1');
  });
});
