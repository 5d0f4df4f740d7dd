import type { Page } from 'playwright-core';
import { eventually } from '@herald/testkit';
import { describe, expect, it } from 'vitest';
import { WAIT_MS } from './demo-page.js';
import { useDemoSession } from './demo-session.js';

// /demo/collab from `herald start` (dev profile) in Chromium: two browsers edit one list at once;
// every page applies the channel's log in offset order, so they converge. One goes offline,
// misses edits, queues one of its own, reconnects, and ends with the same list, each edit once.

const demo = useDemoSession();
let lists = 0;

async function open(query: string): Promise<{ page: Page; errors: string[] }> {
  const context = await demo.context();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${demo.hub.url}/demo/collab/${query}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: WAIT_MS });
  return { page, errors };
}

/** The list as the page shows it: text, with `✓` for a checked item. */
const shown = async (page: Page): Promise<string[]> =>
  page
    .locator('#items li')
    .evaluateAll((items) =>
      items.map((li) => `${li.querySelector('.text')?.textContent ?? ''}${li.getAttribute('data-done') === 'true' ? ' ✓' : ''}`),
    );

const applied = async (page: Page): Promise<number> => Number(await page.locator('body').getAttribute('data-applied'));

/** Waits until the page has applied `count` edits. */
async function waitForApplied(page: Page, count: number): Promise<void> {
  await eventually(async () => (await applied(page)) >= count, `${count} edits applied`, { timeoutMs: WAIT_MS, intervalMs: 20 });
}

async function add(page: Page, text: string): Promise<void> {
  await page.fill('#item-text', text);
  await page.press('#item-text', 'Enter');
}

const item = (page: Page, text: string) => page.locator('#items li', { has: page.locator('.text', { hasText: new RegExp(`^${text}$`) }) });

const newList = (): string => `t${process.pid}-${++lists}`;

describe('/demo/collab', { timeout: 60_000 }, () => {
  it('two browsers editing at once converge to the same list, in log order', async () => {
    const list = newList();
    const a = await open(`?list=${list}`);
    const b = await open(`?list=${list}`);
    expect(await a.page.locator('#transport-now').getAttribute('data-transport')).toBe('websocket');

    // Both add at the same time: the hub's log decides the order, and both pages follow it.
    await Promise.all([
      (async () => {
        for (const text of ['a1', 'a2', 'a3', 'a4']) await add(a.page, text);
      })(),
      (async () => {
        for (const text of ['b1', 'b2', 'b3', 'b4']) await add(b.page, text);
      })(),
    ]);
    await waitForApplied(a.page, 8);
    await waitForApplied(b.page, 8);
    const afterAdds = await shown(a.page);
    expect(afterAdds).toHaveLength(8);
    expect([...afterAdds].sort()).toEqual(['a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'b3', 'b4']);
    expect(await shown(b.page)).toEqual(afterAdds);

    // Concurrent check, move and delete on both sides.
    await Promise.all([
      (async () => {
        await item(a.page, 'b2').locator('input[type="checkbox"]').click();
        await item(a.page, 'b4').locator('button.up').click();
      })(),
      item(b.page, 'a1').locator('button.delete').click(),
    ]);
    await waitForApplied(a.page, 11);
    await waitForApplied(b.page, 11);
    const list1 = await shown(a.page);
    expect(await shown(b.page)).toEqual(list1);
    expect(list1).toHaveLength(7);
    expect(list1).toContain('b2 ✓');
    expect(list1).not.toContain('a1');
    expect(await applied(a.page)).toBe(11);
    expect(await b.page.locator('body').getAttribute('data-last-offset')).toBe('11');
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it('catches up after going offline: what was missed is replayed once, its own queued edit is sent', async () => {
    const list = newList();
    const a = await open(`?list=${list}`);
    for (const text of ['milk', 'eggs', 'bread']) await add(a.page, text);
    await waitForApplied(a.page, 3);
    const b = await open(`?list=${list}`);
    expect(await shown(b.page)).toEqual(['milk', 'eggs', 'bread']);

    await b.page.click('#offline');
    await eventually(async () => (await b.page.locator('#transport-now').getAttribute('data-state')) === 'closed', 'B offline', {
      timeoutMs: WAIT_MS,
      intervalMs: 20,
    });
    expect(await b.page.locator('#offline').innerText()).toBe('Reconnect');

    // A edits while B is away; B queues an edit of its own.
    // (Each after the one before is applied: a move names a place in the list as the page shows it.)
    await add(a.page, 'coffee');
    await waitForApplied(a.page, 4);
    await item(a.page, 'eggs').locator('input[type="checkbox"]').click();
    await waitForApplied(a.page, 5);
    await item(a.page, 'milk').locator('button.delete').click();
    await waitForApplied(a.page, 6);
    await item(a.page, 'coffee').locator('button.up').click();
    await waitForApplied(a.page, 7);
    await add(b.page, 'tea');
    await b.page.locator('#offline-note', { hasText: '1 edit waiting to be sent.' }).waitFor({ timeout: WAIT_MS });
    expect(await shown(b.page)).toEqual(['milk', 'eggs', 'bread']);
    expect(await applied(b.page)).toBe(3);

    await b.page.click('#offline');
    await waitForApplied(b.page, 8);
    await waitForApplied(a.page, 8);
    expect(await b.page.locator('#transport-now').getAttribute('data-state')).toBe('live');
    const final = await shown(a.page);
    expect(final).toEqual(['eggs ✓', 'coffee', 'bread', 'tea']);
    expect(await shown(b.page)).toEqual(final);
    // Each edit once: as many applied as the log holds, on both pages.
    expect(await applied(b.page)).toBe(8);
    expect(await applied(a.page)).toBe(8);
    expect(await b.page.locator('body').getAttribute('data-last-offset')).toBe('8');
    expect(await b.page.locator('#offline-note').innerText()).toBe('Back online: 5 edits applied since the reconnect, each once.');
    expect([...a.errors, ...b.errors]).toEqual([]);
  });
});
