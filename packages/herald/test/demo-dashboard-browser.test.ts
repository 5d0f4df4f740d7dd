import type { Page } from 'playwright-core';
import { eventually } from '@herald/testkit';
import { describe, expect, it } from 'vitest';
import { WAIT_MS } from './demo-page.js';
import { useDemoSession } from './demo-session.js';

// /demo/dashboard from `herald start` (dev profile) in Chromium: the demo's simulator publishes the
// vans every second and an order every 1.5 s; one page on SSE and one on polling follow both.

interface Order {
  readonly id: number;
  readonly amount: number;
  readonly total: number;
}

const demo = useDemoSession({ keepContexts: true });

async function open(query: string): Promise<{ page: Page; errors: string[] }> {
  const context = await demo.context();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${demo.hub.url}/demo/dashboard/${query}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: WAIT_MS });
  return { page, errors };
}

const vanPosition = (page: Page, id: string): Promise<string | null> =>
  page.locator(`#vehicles [data-id="${id}"]`).evaluate((g) => `${g.getAttribute('data-x')},${g.getAttribute('data-y')}`);
const tickOf = async (page: Page): Promise<number> => Number(await page.locator('#tick').getAttribute('data-tick'));
const shown = async (page: Page): Promise<{ order: number; total: number }> => {
  const total = page.locator('#total');
  return { order: Number(await total.getAttribute('data-order')), total: Number(await total.getAttribute('data-total')) };
};

/** Every order the simulator published, from the hub's history. */
async function publishedOrders(): Promise<Order[]> {
  const res = await fetch(`${demo.hub.url}/api/history?channel=${encodeURIComponent('dashboard:orders')}&limit=1000`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { messages: { data: Order }[] }).messages.map((m) => m.data);
}

describe('/demo/dashboard', { timeout: 60_000 }, () => {
  it('moves the vans and keeps the revenue total in step with the simulator, on SSE and on polling', async () => {
    const sse = await open('');
    const polling = await open('?transport=polling');
    expect(await sse.page.locator('#transport-now').getAttribute('data-transport')).toBe('sse');
    expect(await polling.page.locator('#transport-now').getAttribute('data-transport')).toBe('polling');
    expect(await sse.page.locator('#vehicle-interval').innerText()).toBe('1 s');
    expect(await sse.page.locator('#order-interval').innerText()).toBe('1.5 s');
    expect(await sse.page.locator('#vehicles .vehicle').count()).toBe(5);

    // The vans move on both pages: a later tick, and van-1 somewhere else.
    for (const { page } of [sse, polling]) {
      const tick = await tickOf(page);
      const before = await vanPosition(page, 'van-1');
      await eventually(async () => (await tickOf(page)) >= tick + 2 && (await vanPosition(page, 'van-1')) !== before, 'van-1 to move', {
        timeoutMs: WAIT_MS,
        intervalMs: 50,
      });
    }

    // Both pages reach the same order, and show the total the simulator published: the sum of every
    // order's amount up to it.
    await eventually(
      async () => {
        const [a, b] = [await shown(sse.page), await shown(polling.page)];
        return a.order >= 3 && a.order === b.order && a.total === b.total;
      },
      'both pages on the same order',
      { timeoutMs: WAIT_MS, intervalMs: 20 },
    );
    const { order, total } = await shown(sse.page);
    const orders = await publishedOrders();
    expect(orders[0]?.id).toBe(1);
    const upTo = orders.filter((o) => o.id <= order);
    expect(upTo.map((o) => o.id)).toEqual(Array.from({ length: order }, (_, i) => i + 1));
    expect(upTo.reduce((sum, o) => sum + o.amount, 0)).toBe(total);
    expect(upTo.at(-1)?.total).toBe(total);
    expect(await sse.page.locator('#order-count').innerText()).toBe(String(order));
    expect(await sse.page.locator('#chart polyline').count()).toBe(1);

    // The comparison measures the same channel over SSE and over long-polling, on either page.
    for (const { page } of [sse, polling]) {
      for (const id of ['meter-page', 'meter-sse', 'meter-polling']) {
        await eventually(async () => Number(await page.locator(`#${id}`).getAttribute('data-updates')) >= 2, `${id} updates`, {
          timeoutMs: WAIT_MS,
          intervalMs: 50,
        });
        expect(Number(await page.locator(`#${id}`).getAttribute('data-latency'))).toBeGreaterThanOrEqual(0);
      }
    }
    expect(await polling.page.locator('#meter-page .pill').innerText()).toBe('this page · polling');
    expect([...sse.errors, ...polling.errors]).toEqual([]);
  });

  it('answers its state: intervals, the latest vans and the total so far', async () => {
    const res = await fetch(`${demo.hub.url}/demo/dashboard/api/state`);
    expect(res.status).toBe(200);
    const state = (await res.json()) as { interval: unknown; vehicles: { vehicles: unknown[] }; total: number; orders: Order[] };
    expect(state.interval).toEqual({ vehicles: 1000, orders: 1500 });
    expect(state.vehicles.vehicles).toHaveLength(5);
    expect(state.total).toBe(state.orders.reduce((sum, o) => sum + o.amount, 0));
    const post = await fetch(`${demo.hub.url}/demo/dashboard/api/state`, { method: 'POST' });
    expect(post.status).toBe(405);
    await post.body?.cancel();
  });
});
