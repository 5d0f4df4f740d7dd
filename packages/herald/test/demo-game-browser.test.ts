import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { eventually } from '@herald/testkit';
import { WAIT_MS } from './demo-page.js';
import { useDemoSession } from './demo-session.js';

// /demo/game from `herald start` (dev profile) in Chromium: each browser context is a player with a
// connection of its own, sending its position at the configured rate and drawing the other's.

const demo = useDemoSession();

interface Player {
  readonly page: Page;
  readonly errors: string[];
  readonly context: BrowserContext;
}

async function openGame(query: string): Promise<Player> {
  const context = await demo.context();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${demo.hub.url}/demo/game/?${query}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: WAIT_MS });
  return { page, errors, context };
}

/** The other player's dot on `page` (there is one other in these tests). */
const otherDot = (page: Page) => page.locator('#arena g[data-player]:not([data-me="true"])');

async function position(page: Page): Promise<{ x: number; y: number }> {
  const dot = otherDot(page);
  return { x: Number(await dot.getAttribute('data-x')), y: Number(await dot.getAttribute('data-y')) };
}

// Page-side expressions (this package has no DOM types: the browser evaluates them as strings).
/** The other player's dot as the page drew it: `{x, y}` fractions, or null. */
const OTHER_AT = `(() => { const g = document.querySelector('#arena g[data-player]:not([data-me="true"])'); return g && { x: Number(g.dataset.x), y: Number(g.dataset.y) }; })()`;
/** How many of the other player's updates the page has counted (its list refreshes every 250 ms). */
const RECEIVED = `Number(document.querySelector('#players li[data-player]')?.dataset.received ?? 0)`;

/** Waits until `condition` (an expression over `at`, the other player's dot, in the page) holds. */
async function waitForOther(page: Page, condition: string): Promise<void> {
  await page.waitForFunction(`((at) => at !== null && (${condition}))(${OTHER_AT})`, undefined, { timeout: WAIT_MS, polling: 20 });
}

/** Waits until the other player's dot on `page` is somewhere other than `from`. */
async function waitForMove(page: Page, from: { x: number; y: number }): Promise<void> {
  await waitForOther(page, `at.x !== ${from.x} || at.y !== ${from.y}`);
}

/**
 * Counts the other player's updates arriving on `page` until `count` more have come, and returns
 * their rate per second, timed by the page's own clock.
 */
async function measureRate(page: Page, count: number): Promise<number> {
  const read = (): Promise<{ n: number; t: number }> =>
    page.evaluate<{ n: number; t: number }>(`({ n: ${RECEIVED}, t: performance.now() })`);
  // Time the window from one refresh of the count to another.
  const start = await read();
  await page.waitForFunction(`${RECEIVED} > ${start.n}`, undefined, { timeout: WAIT_MS, polling: 5 });
  const first = await read();
  await page.waitForFunction(`${RECEIVED} >= ${first.n + count}`, undefined, { timeout: WAIT_MS, polling: 5 });
  const last = await read();
  return (last.n - first.n) / ((last.t - first.t) / 1000);
}

/** Waits until the page has at least `n` round-trip samples. */
async function waitForSamples(page: Page, n: number): Promise<void> {
  await page.waitForFunction(`Number(document.getElementById('rtt-count')?.dataset.value) >= ${n}`, undefined, { timeout: WAIT_MS });
}

const stat = async (page: Page, id: string): Promise<number> => Number(await page.locator(`#${id}`).getAttribute('data-value'));

describe('/demo/game', { timeout: 60_000 }, () => {
  it('two players see each other move at the configured rate over the WebSocket, with the round trip shown', async () => {
    const alice = await openGame('name=alice&arena=duel&rate=30&autopilot=1');
    const bob = await openGame('name=bob&arena=duel&rate=30&autopilot=1');
    for (const { page } of [alice, bob]) {
      expect(await page.locator('#transport-now').getAttribute('data-transport')).toBe('websocket');
      expect(await page.locator('#rate-select').inputValue()).toBe('30');
      await otherDot(page).waitFor({ timeout: WAIT_MS });
    }
    expect(await otherDot(alice.page).locator('text').textContent()).toBe('bob');
    expect(await otherDot(bob.page).locator('text').textContent()).toBe('alice');

    // Each sees the other's dot move: updates flow both ways.
    for (const { page } of [alice, bob]) await waitForMove(page, await position(page));

    // The rate each receives, counted over 45 updates, is within the configured 20–60/s, and no more than was sent.
    for (const { page } of [alice, bob]) {
      const rate = await measureRate(page, 45);
      expect(rate).toBeGreaterThanOrEqual(20);
      expect(rate).toBeLessThanOrEqual(60);
      const sent = await stat(page, 'sent-rate');
      expect(sent).toBeGreaterThan(15);
      expect(sent).toBeLessThanOrEqual(31);
    }

    // The round trip of its own updates through the hub: shown, and plausible.
    for (const { page } of [alice, bob]) {
      await waitForSamples(page, 20);
      for (const id of ['rtt-p50', 'rtt-p95', 'rtt-last']) {
        const ms = await stat(page, id);
        expect(ms, id).toBeGreaterThan(0);
        expect(ms, id).toBeLessThan(1000);
      }
      expect(await page.locator('#rtt-p50').innerText()).toMatch(/^\d+\.\d ms$/);
    }

    // Bob takes the mouse: autopilot stops and Alice sees his dot where his pointer is.
    const box = (await bob.page.locator('#arena svg').boundingBox())!;
    await bob.page.mouse.move(box.x + box.width * 0.25, box.y + box.height * 0.75);
    expect(await bob.page.locator('#autopilot').isChecked()).toBe(false);
    await waitForOther(alice.page, 'Math.abs(at.x - 0.25) < 0.01 && Math.abs(at.y - 0.75) < 0.01');

    // A player who leaves is taken off the arena.
    await bob.context.close();
    await alice.page.locator('#arena g[data-player]:not([data-me="true"])').waitFor({ state: 'detached', timeout: WAIT_MS });
    expect(await alice.page.locator('#players li').count()).toBe(0);
    expect([...alice.errors, ...bob.errors]).toEqual([]);
  });

  it('a rate chosen on the page applies at once, and arenas are separate', async () => {
    const carol = await openGame('name=carol&arena=fast&autopilot=1');
    const dan = await openGame('name=dan&arena=fast');
    const eve = await openGame('name=eve&arena=elsewhere&autopilot=1');
    expect(await carol.page.locator('#rate-select').inputValue()).toBe('30');
    await carol.page.selectOption('#rate-select', '60');
    expect(new URL(carol.page.url()).searchParams.get('rate')).toBe('60');
    await otherDot(dan.page).waitFor({ timeout: WAIT_MS });
    // Carol sends on a fixed schedule: never more than 60 a second over the page's 2 s window.
    await carol.page.waitForFunction(`Number(document.getElementById('sent-rate')?.dataset.value) > 45`, undefined, { timeout: WAIT_MS });
    expect(await stat(carol.page, 'sent-rate')).toBeLessThanOrEqual(60.5);
    // Dan counts more than the old 30 a second; arrivals bunch up on a loaded machine, so over 120
    // updates they may run a little ahead of the sender, never far.
    const rate = await measureRate(dan.page, 120);
    expect(rate).toBeGreaterThan(30);
    expect(rate).toBeLessThanOrEqual(72);
    expect(await dan.page.locator('#players li').count()).toBe(1);
    expect(await eve.page.locator('#players li').count()).toBe(0);
    expect(await eve.page.locator('#arena g[data-player]').count()).toBe(1);
  });

  it('works over SSE when switched to it: updates go up as HTTP requests', async () => {
    const fay = await openGame('name=fay&arena=sse&transport=sse&autopilot=1');
    const gus = await openGame('name=gus&arena=sse&transport=sse&autopilot=1');
    expect(await fay.page.locator('#transport-now').getAttribute('data-transport')).toBe('sse');
    await otherDot(fay.page).waitFor({ timeout: WAIT_MS });
    await waitForMove(fay.page, await position(fay.page));
    // Gus's own updates come back, and each went up as a POST of its own.
    const posts: string[] = [];
    gus.page.on('request', (request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === '/api/publish') posts.push(request.url());
    });
    const before = await stat(gus.page, 'rtt-count');
    await eventually(() => posts.length >= 10, '10 publishes as POST /api/publish', { timeoutMs: WAIT_MS, intervalMs: 20 });
    await waitForSamples(gus.page, before + 5);
    expect(await gus.page.locator('#via').innerText()).toBe('an HTTP POST (receiving over sse)');
  });
});
