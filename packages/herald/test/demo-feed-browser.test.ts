import type { Page } from 'playwright-core';
import { eventually } from '@herald/testkit';
import { describe, expect, it } from 'vitest';
import { range, WAIT_MS } from './demo-page.js';
import { useDemoSession } from './demo-session.js';

// /demo/feed from `herald start` (dev profile) in Chromium: posts through the demo's backend arrive
// on top in every open page; "Load older" pages back through the channel's history by position.

const demo = useDemoSession();
let feeds = 0;

async function open(query: string): Promise<{ page: Page; errors: string[] }> {
  const context = await demo.context();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${demo.hub.url}/demo/feed/${query}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: WAIT_MS });
  return { page, errors };
}

/** Posts through the demo's backend, as the form does; returns the post's offset. */
async function post(feed: string, text: string): Promise<number> {
  const res = await fetch(`${demo.hub.url}/demo/feed/api/post`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ feed, author: 'seed', text }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { offset: number }).offset;
}

/** The offsets of the posts on the page, top to bottom. */
const offsets = async (page: Page): Promise<number[]> =>
  (await page.locator('#posts li').evaluateAll((items) => items.map((li) => li.getAttribute('data-offset')))).map(Number);

async function waitForCount(page: Page, count: number): Promise<void> {
  await eventually(async () => (await page.locator('#posts li').count()) >= count, `${count} posts`, {
    timeoutMs: WAIT_MS,
    intervalMs: 20,
  });
}

const newFeed = (): string => `t${process.pid}-${++feeds}`;

describe('/demo/feed', { timeout: 60_000 }, () => {
  it('shows a post from one browser on top in the other, live over SSE', async () => {
    const feed = newFeed();
    for (let i = 1; i <= 3; i++) await post(feed, `seed ${i}`);
    const a = await open(`?feed=${feed}&name=alice`);
    const b = await open(`?feed=${feed}&name=bob`);
    expect(await b.page.locator('#transport-now').getAttribute('data-transport')).toBe('sse');
    expect(await offsets(b.page)).toEqual([3, 2, 1]);

    await a.page.fill('#text', 'hello from alice');
    await a.page.click('#post-form button[type="submit"]');
    await waitForCount(b.page, 4);
    await waitForCount(a.page, 4);
    expect(await offsets(b.page)).toEqual([4, 3, 2, 1]);
    expect(await offsets(a.page)).toEqual([4, 3, 2, 1]);
    const top = b.page.locator('#posts li').first();
    expect(await top.locator('strong').innerText()).toBe('alice');
    expect(await top.locator('p').innerText()).toBe('hello from alice');
    expect(await top.getAttribute('data-live')).toBe('true');
    expect(await b.page.locator('body').getAttribute('data-at-start')).toBe('true');
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it('pages back through the history in order, without duplicates, to the start, while new posts arrive on top', async () => {
    const feed = newFeed();
    for (let i = 1; i <= 25; i++) await post(feed, `post ${i}`);
    const { page, errors } = await open(`?feed=${feed}&transport=polling`);
    expect(await page.locator('#transport-now').getAttribute('data-transport')).toBe('polling');
    expect(await offsets(page)).toEqual(range(16, 25).reverse());
    expect(await page.locator('#posts li p').first().innerText()).toBe('post 25');

    // A post arriving between pages goes on top and does not disturb the paging.
    await post(feed, 'post 26');
    await waitForCount(page, 11);
    await page.click('#load-older');
    await waitForCount(page, 21);
    expect(await offsets(page)).toEqual(range(6, 26).reverse());
    expect(await page.locator('body').getAttribute('data-at-start')).toBe('false');

    await page.click('#load-older');
    await waitForCount(page, 26);
    expect(await offsets(page)).toEqual(range(1, 26).reverse());
    expect(await page.locator('body').getAttribute('data-at-start')).toBe('true');
    expect(await page.locator('#load-older').isHidden()).toBe(true);
    expect(await page.locator('#older-note').innerText()).toBe('You reached the start of the feed.');
    expect(await page.locator('#posts li p').last().innerText()).toBe('post 1');
    expect(errors).toEqual([]);
  });

  it('pages back over the WebSocket too', async () => {
    const feed = newFeed();
    for (let i = 1; i <= 12; i++) await post(feed, `post ${i}`);
    const { page, errors } = await open(`?feed=${feed}&transport=websocket`);
    expect(await page.locator('#transport-now').getAttribute('data-transport')).toBe('websocket');
    expect(await offsets(page)).toEqual(range(3, 12).reverse());
    await page.click('#load-older');
    await waitForCount(page, 12);
    expect(await offsets(page)).toEqual(range(1, 12).reverse());
    expect(await page.locator('body').getAttribute('data-at-start')).toBe('true');
    expect(errors).toEqual([]);
  });

  it('refuses a bad post with code 1005', async () => {
    const res = await fetch(`${demo.hub.url}/demo/feed/api/post`, {
      method: 'POST',
      body: JSON.stringify({ feed: 'x', author: 'a', text: ' ' }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 1005, message: 'text must be 1-280 characters' } });
    const badFeed = await fetch(`${demo.hub.url}/demo/feed/api/post`, {
      method: 'POST',
      body: JSON.stringify({ feed: 'A B', author: 'a', text: 'b' }),
    });
    expect(badFeed.status).toBe(400);
    expect(((await badFeed.json()) as { error: { code: number } }).error.code).toBe(1005);
  });
});
