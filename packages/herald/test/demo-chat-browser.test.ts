import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { eventually } from '@herald/testkit';
import { WAIT_MS } from './demo-page.js';
import { useDemoSession } from './demo-session.js';

// /demo/chat from `herald start` (dev profile) in Chromium: separate browser contexts are separate
// users (own localStorage, own connection to the hub).

const demo = useDemoSession();

/** Opens the chat as `name` in a context of its own and waits until it has joined the room. */
async function openChat(name: string, query = ''): Promise<{ page: Page; errors: string[] }> {
  const context = await demo.context();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${demo.hub.url}/demo/chat/?name=${name}${query}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: WAIT_MS });
  return { page, errors };
}

const online = (page: Page): Promise<string[]> => page.locator('#online li').allInnerTexts();
const messages = (page: Page): Promise<string[]> => page.locator('#messages li p').allInnerTexts();

/** Waits until `#online` lists exactly `names` (sorted). */
async function waitForOnline(page: Page, names: readonly string[]): Promise<void> {
  const expected = [...names].sort().join(',');
  await eventually(async () => (await online(page)).join(',') === expected, `online: ${expected}`, { timeoutMs: WAIT_MS, intervalMs: 20 });
}

async function waitForMessage(page: Page, text: string): Promise<void> {
  await page.locator('#messages li p', { hasText: text }).waitFor({ timeout: WAIT_MS });
}

describe('/demo/chat', { timeout: 60_000 }, () => {
  it('two browsers see each other online, typing and messages over the WebSocket; a late joiner gets the history', async () => {
    const room = '&room=random';
    const alice = await openChat('alice', room);
    const bob = await openChat('bob', room);
    for (const { page } of [alice, bob]) {
      expect(await page.locator('#transport-now').getAttribute('data-transport')).toBe('websocket');
      await waitForOnline(page, ['alice', 'bob']);
    }
    expect(await alice.page.locator('#online li[data-me="true"]').innerText()).toBe('alice');

    // Typing shows on the other side, and goes when the message arrives.
    await alice.page.fill('#message', 'hello b');
    await bob.page.locator('#typing', { hasText: 'alice is typing…' }).waitFor({ timeout: WAIT_MS });
    expect(await alice.page.locator('#typing').innerText()).toBe('');
    await alice.page.fill('#message', 'hello bob');
    await alice.page.press('#message', 'Enter');
    await waitForMessage(bob.page, 'hello bob');
    await eventually(async () => (await bob.page.locator('#typing').innerText()) === '', 'typing cleared', {
      timeoutMs: WAIT_MS,
      intervalMs: 20,
    });
    await waitForMessage(alice.page, 'hello bob');
    expect(await alice.page.locator('#messages li[data-mine="true"] p').allInnerTexts()).toEqual(['hello bob']);
    expect(await bob.page.locator('#messages li[data-mine="true"]').count()).toBe(0);

    await bob.page.fill('#message', 'hi alice');
    await bob.page.click('#send button[type="submit"]');
    await waitForMessage(alice.page, 'hi alice');

    // A late joiner reads the room's history, in order, once; everyone sees it arrive.
    const carol = await openChat('carol', room);
    expect(await messages(carol.page)).toEqual(['hello bob', 'hi alice']);
    for (const { page } of [alice, bob, carol]) await waitForOnline(page, ['alice', 'bob', 'carol']);

    // Leaving is seen too.
    await demo.contexts[1]!.close();
    await waitForOnline(alice.page, ['alice', 'carol']);
    expect(await messages(alice.page)).toEqual(['hello bob', 'hi alice']);
    expect([...alice.errors, ...bob.errors, ...carol.errors]).toEqual([]);
  });

  it('rooms are separate: a message in one room does not show in another', async () => {
    const dora = await openChat('dora', '&room=help');
    const eve = await openChat('eve', '&room=help');
    await waitForOnline(dora.page, ['dora', 'eve']);
    await eve.page.click('#rooms button[data-room="general"]');
    await eve.page.waitForSelector('body[data-ready="true"]', { timeout: WAIT_MS });
    await waitForOnline(dora.page, ['dora']);
    await dora.page.fill('#message', 'only in help');
    await dora.page.press('#message', 'Enter');
    await waitForMessage(dora.page, 'only in help');
    await eve.page.fill('#message', 'only in general');
    await eve.page.press('#message', 'Enter');
    await waitForMessage(eve.page, 'only in general');
    expect(await messages(eve.page)).toEqual(['only in general']);
    expect(await messages(dora.page)).toEqual(['only in help']);
    expect(new URL(eve.page.url()).searchParams.get('room')).toBe('general');
  });

  it('works over SSE when switched to it: messages and presence', async () => {
    const frank = await openChat('frank', '&room=general&transport=sse');
    const gina = await openChat('gina', '&room=general&transport=sse');
    expect(await frank.page.locator('#transport-now').getAttribute('data-transport')).toBe('sse');
    expect(await frank.page.locator('#transport-select').inputValue()).toBe('sse');
    await waitForOnline(frank.page, ['frank', 'gina']);
    await gina.page.fill('#message', 'over sse');
    await gina.page.press('#message', 'Enter');
    await waitForMessage(frank.page, 'over sse');
    expect(await online(gina.page)).toEqual(['frank', 'gina']);
  });
});
