import type { Page } from 'playwright-core';
import { eventually } from '@herald/testkit';
import { describe, expect, it } from 'vitest';
import { WAIT_MS } from './demo-page.js';
import { useDemoSession } from './demo-session.js';

// /demo/flash-sale from `herald start` (dev profile) in Chromium. 54 buyers for 20 items: six browser
// contexts (on SSE, polling and WebSocket) click Buy, and 48 more buy with fetch from inside those
// pages (the page's own origin, as its button does).

interface SaleState {
  readonly sale: number;
  readonly initial: number;
  readonly stock: number;
  readonly sold: number;
  readonly version: number;
}
interface Answer {
  readonly status: number;
  readonly result: 'bought' | 'sold-out';
  readonly order?: number;
  readonly replayed: boolean;
}

const TRANSPORTS = ['', '?transport=sse', '?transport=polling', '?transport=websocket', '', '?transport=polling'];
const FETCH_BUYERS_PER_PAGE = 8;
const STOCK = 20;

const demo = useDemoSession({ keepContexts: true });

async function open(query: string): Promise<{ page: Page; errors: string[] }> {
  const context = await demo.context();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${demo.hub.url}/demo/flash-sale/${query}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: WAIT_MS });
  return { page, errors };
}

async function post(path: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${demo.hub.url}/demo/flash-sale/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function saleState(): Promise<SaleState> {
  const res = await fetch(`${demo.hub.url}/demo/flash-sale/api/state`);
  return ((await res.json()) as { state: SaleState }).state;
}

const stockShown = async (page: Page): Promise<string | null> => page.locator('#stock').getAttribute('data-stock');

describe('/demo/flash-sale', { timeout: 60_000 }, () => {
  it('sells exactly the stock to 54 concurrent buyers, retries count once, and every viewer reaches 0', async () => {
    const pages = await Promise.all(TRANSPORTS.map((query) => open(query)));
    const reset = await post('api/reset', { stock: STOCK });
    expect(reset.status).toBe(200);
    const sale = (reset.body as { state: SaleState }).state.sale;
    for (const { page } of pages) {
      await eventually(async () => (await stockShown(page)) === String(STOCK), 'the reset stock on every page', {
        timeoutMs: WAIT_MS,
        intervalMs: 20,
      });
    }

    // The six contexts click at once (a click on a sold-out page would find the button disabled, so
    // they go first: 6 < STOCK); while their buys are in flight, 48 buyers in those pages buy at once,
    // each sending its request twice with the same idempotency key, as a retry would.
    await Promise.all(pages.map(({ page }) => page.click('#buy')));
    const bought = await Promise.all(
      pages.map(({ page }, p) =>
        page.evaluate(
          async ({ count, p }) => {
            const one = async (key: string): Promise<Answer> => {
              const res = await fetch('api/buy', {
                method: 'POST',
                headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify({ key }),
              });
              return { status: res.status, ...((await res.json()) as Omit<Answer, 'status'>) };
            };
            return Promise.all(
              Array.from({ length: count }, async (_, i) => {
                const key = `buyer-${p}-${i}-${crypto.randomUUID()}`;
                const [first, retry] = await Promise.all([one(key), one(key)]);
                return { key, first, retry };
              }),
            );
          },
          { count: FETCH_BUYERS_PER_PAGE, p },
        ),
      ),
    );
    for (const { page } of pages) {
      await eventually(
        async () => ['bought', 'sold-out'].includes((await page.locator('#result').getAttribute('data-result')) ?? ''),
        'the click answered',
        { timeoutMs: WAIT_MS, intervalMs: 20 },
      );
    }

    // Exactly STOCK purchases: order numbers 1..STOCK, each once, between clicks and fetches.
    const orders: number[] = [];
    for (const { first, retry } of bought.flat()) {
      // A key's two requests get one answer: one of them is the replay.
      expect([first.replayed, retry.replayed].sort()).toEqual([false, true]);
      expect(retry.result).toBe(first.result);
      expect(retry.order).toBe(first.order);
      expect(first.status).toBe(first.result === 'bought' ? 200 : 409);
      if (first.result === 'bought') orders.push(first.order!);
    }
    for (const { page } of pages) {
      const mine = await page.locator('#orders li').evaluateAll((items) => items.map((li) => Number(li.getAttribute('data-order'))));
      orders.push(...mine);
    }
    expect(bought.flat()).toHaveLength(pages.length * FETCH_BUYERS_PER_PAGE);
    expect(orders.sort((a, b) => a - b)).toEqual(Array.from({ length: STOCK }, (_, i) => i + 1));
    expect(await saleState()).toMatchObject({ sale, initial: STOCK, stock: 0, sold: STOCK });

    // Every viewer's counter reaches exactly 0, whatever its transport; the button says so.
    for (const { page } of pages) {
      await eventually(async () => (await stockShown(page)) === '0', 'the counter at 0', { timeoutMs: WAIT_MS, intervalMs: 20 });
      expect(await page.locator('#buy').isDisabled()).toBe(true);
    }

    // The channel's log: one state per purchase after the reset, stock down by one each time, never below 0.
    const res = await fetch(`${demo.hub.url}/api/history?channel=${encodeURIComponent('flash-sale:stock')}&limit=1000`);
    const states = ((await res.json()) as { messages: { data: SaleState }[] }).messages.map((m) => m.data).filter((s) => s.sale === sale);
    expect(states.map((s) => s.stock)).toEqual(Array.from({ length: STOCK + 1 }, (_, i) => STOCK - i));
    expect(pages.flatMap(({ errors }) => errors)).toEqual([]);
  });

  it('answers a retried buy with the first answer and takes nothing more', async () => {
    await post('api/reset', { stock: 3 });
    const first = await post('api/buy', { key: 'retry-key-1' });
    const again = await post('api/buy', { key: 'retry-key-1' });
    expect(first.status).toBe(200);
    expect(again).toEqual({ status: 200, body: { ...(first.body as object), replayed: true } });
    expect((first.body as { replayed: boolean }).replayed).toBe(false);
    expect(await saleState()).toMatchObject({ stock: 2, sold: 1 });
    const other = await post('api/buy', { key: 'retry-key-2' });
    expect((other.body as { order: number }).order).toBe(2);
  });

  it('refuses a bad key or stock with code 1005', async () => {
    expect(await post('api/buy', { key: 'short' })).toEqual({
      status: 400,
      body: { error: { code: 1005, message: 'key must be 8-128 letters, digits, _ or -' } },
    });
    expect(await post('api/reset', { stock: 0 })).toEqual({
      status: 400,
      body: { error: { code: 1005, message: 'stock must be an integer from 1 to 10000' } },
    });
  });
});
