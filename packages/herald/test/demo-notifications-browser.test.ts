import type { Page } from 'playwright-core';
import { eventually } from '@herald/testkit';
import { describe, expect, it } from 'vitest';
import { WAIT_MS } from './demo-page.js';
import { useDemoSession } from './demo-session.js';

// /demo/notifications from `herald start` (dev profile) in Chromium: the demo's backend publishes,
// the page keeps what it showed and the cursor after it in localStorage, and resumes from there.

const demo = useDemoSession();

async function newPage(): Promise<{ page: Page; errors: string[] }> {
  const context = await demo.context();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  return { page, errors };
}

async function open(page: Page, query: string): Promise<void> {
  await page.goto(`${demo.hub.url}/demo/notifications/${query}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: WAIT_MS });
}

/** Asks the demo's backend to notify `user`, as the page's button does; returns the notification's id. */
async function sendFromBackend(user: string): Promise<number> {
  const res = await fetch(`${demo.hub.url}/demo/notifications/api/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { notification: { id: number } }).notification.id;
}

const ids = async (page: Page): Promise<number[]> =>
  (await page.locator('#notifications li').evaluateAll((items) => items.map((li) => li.getAttribute('data-id')))).map(Number);

async function waitForCount(page: Page, count: number): Promise<void> {
  await eventually(async () => (await page.locator('#notifications li').count()) >= count, `${count} notifications`, {
    timeoutMs: WAIT_MS,
    intervalMs: 20,
  });
}

describe('/demo/notifications', { timeout: 60_000 }, () => {
  it('receives over SSE, and after a reload shows what arrived meanwhile exactly once, with the right badge', async () => {
    const { page, errors } = await newPage();
    await open(page, '?user=reader-1');
    expect(await page.locator('#transport-now').getAttribute('data-transport')).toBe('sse');
    expect(await page.locator('#badge').innerText()).toBe('0');

    const sent: number[] = [];
    for (let i = 0; i < 3; i++) {
      await page.click('#send-test');
      await waitForCount(page, i + 1);
    }
    sent.push(...(await ids(page)).reverse());
    expect(await page.locator('#badge').innerText()).toBe('3');

    // The page is gone while two more are published.
    await page.goto('about:blank');
    sent.push(await sendFromBackend('reader-1'), await sendFromBackend('reader-1'));
    await open(page, '?user=reader-1');
    await waitForCount(page, 5);
    expect(await page.locator('#away').innerText()).toBe('2 arrived while this page was closed.');

    // And one more live.
    sent.push(await sendFromBackend('reader-1'));
    await waitForCount(page, 6);
    expect(await ids(page)).toEqual([...sent].reverse());
    expect(await page.locator('#badge').innerText()).toBe('6');
    expect(await page.locator('#notifications li[data-read="false"]').count()).toBe(6);

    // Read state survives a reload too, and nothing comes twice.
    await page.click('#mark-read');
    expect(await page.locator('#badge').innerText()).toBe('0');
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]', { timeout: WAIT_MS });
    sent.push(await sendFromBackend('reader-1'));
    await waitForCount(page, 7);
    expect(await ids(page)).toEqual([...sent].reverse());
    expect(await page.locator('#badge').innerText()).toBe('1');
    expect(await page.locator('#away').isHidden()).toBe(true);
    expect(errors).toEqual([]);
  });

  it('keeps users apart, and works when switched to polling', async () => {
    const a = await newPage();
    const b = await newPage();
    await open(a.page, '?user=reader-a&transport=polling');
    await open(b.page, '?user=reader-b');
    expect(await a.page.locator('#transport-now').getAttribute('data-transport')).toBe('polling');
    const id = await sendFromBackend('reader-a');
    await waitForCount(a.page, 1);
    expect(await ids(a.page)).toEqual([id]);
    await b.page.click('#send-test');
    await waitForCount(b.page, 1);
    expect(await ids(a.page)).toEqual([id]);
    expect(await ids(b.page)).not.toContain(id);
  });

  it('refuses a bad user with code 1005 and a GET with 405', async () => {
    const bad = await fetch(`${demo.hub.url}/demo/notifications/api/send`, { method: 'POST', body: JSON.stringify({ user: 'a b' }) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { code: 1005, message: 'user must be 1-64 letters, digits, _ or -' } });
    const notJson = await fetch(`${demo.hub.url}/demo/notifications/api/send`, { method: 'POST', body: '{' });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { code: number } }).error.code).toBe(1000);
    const get = await fetch(`${demo.hub.url}/demo/notifications/api/send`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    await get.body?.cancel();
  });
});
