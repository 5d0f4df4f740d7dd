import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { landingPageOptions, loadLandingPage } from '../src/landing-page.js';
import { WAIT_MS } from './demo-page.js';
import { useDemoSession } from './demo-session.js';

// docs/choosing-a-transport.md as the page the dev hub serves at /demo/choosing-a-transport/ (built
// from the markdown at build time), and the landing page's links to it. The markdown is read here
// too: a use case or advice changed in the doc and not in the page fails this test.

const MARKDOWN = readFileSync(new URL('../../../docs/choosing-a-transport.md', import.meta.url), 'utf8');

/** The summary table's rows: use case, its anchor and the advised transport (bold). */
function summaryRows(): { useCase: string; anchor: string; advised: string }[] {
  const rows = [...MARKDOWN.matchAll(/^\| \[([^\]]+)\]\(#([a-z0-9-]+)\) \|.*\| \*\*([^*]+)\*\*[^|]* \|$/gm)];
  return rows.map(([, useCase, anchor, advised]) => ({ useCase: useCase!, anchor: anchor!, advised: advised! }));
}

/** Each `## ` section with a measured table: its heading and the transport in bold in the table. */
function measuredSections(): { heading: string; advised: string }[] {
  return MARKDOWN.split(/^## /m)
    .slice(1)
    .flatMap((section) => {
      const advised = /^\| \*\*([^*]+)\*\* \|/m.exec(section)?.[1];
      return advised === undefined ? [] : [{ heading: section.slice(0, section.indexOf('\n')), advised }];
    });
}

const session = useDemoSession();

describe('the transport guide', { timeout: 60_000 }, () => {
  it('is the markdown as a page: every use case, its heading and advised transport, and no link to a .md file', async () => {
    // The parsers above must find what they look for, or this test would check nothing.
    const rows = summaryRows();
    const sections = measuredSections();
    expect(rows.map((r) => r.useCase)).toEqual(['chat', 'notifications', 'dashboard', 'flash sale', 'feed', 'game', 'collaboration']);
    expect(sections).toHaveLength(7);

    const response = await fetch(`${session.hub.url}/demo/choosing-a-transport/`);
    expect(response.status).toBe(200);
    const html = await response.text();
    const body = html.slice(html.indexOf('<main'));
    for (const { useCase, anchor, advised } of rows) {
      const row = new RegExp(`<tr>\\s*<td><a href="#${anchor}">${useCase}</a></td>(?:(?!</tr>)[\\s\\S])*<strong>${advised}</strong>`);
      expect(body, `summary row ${useCase} → ${advised}`).toMatch(row);
    }
    const byId = new Map(body.split('<h2 id="').map((part) => [part.slice(0, part.indexOf('"')), part]));
    for (const { heading, advised } of sections) {
      const id = heading.toLowerCase().replace(/ /g, '-');
      const section = byId.get(id);
      expect(section, `section #${id}`).toBeDefined();
      expect(section).toContain(`</a>${heading}</h2>`);
      expect(section).toMatch(new RegExp(`<tr>\\s*<td><strong>${advised}</strong></td>`));
    }
    for (const { anchor } of rows) expect(byId.has(anchor), `#${anchor}`).toBe(true);

    const hrefs = [...body.matchAll(/<a [^>]*href="([^"]*)"/g)].map((m) => m[1]!);
    expect(hrefs.filter((href) => /\.md(#|$)/.test(href))).toEqual([]);
    // The other docs are named, not linked; the chat demo is linked.
    expect(body).toContain('<code class="doc-ref">docs/client.md</code>');
    expect(hrefs).toContain('../chat/');
    expect(body).toContain('<img src="../assets/bench-report.png"');
  });

  it('is linked from the landing page and the demo index, and its links, anchors and tables work in Chromium', async () => {
    const context = await session.context({ viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${session.hub.url}/`);
    await page.locator('#advisor-link').click();
    await page.waitForURL(/\/demo\/choosing-a-transport\/#on-your-own-workload$/, { timeout: WAIT_MS });
    await page.locator('#on-your-own-workload').waitFor({ timeout: WAIT_MS });
    expect(await page.locator('pre code', { hasText: 'npx herald bench --profile mine.json' }).count()).toBe(1);
    // A phone: the tables scroll in their own boxes, the page does not scroll sideways.
    expect(await page.evaluate('document.scrollingElement.scrollWidth')).toBeLessThanOrEqual(390);
    expect(await page.evaluate("[...document.querySelectorAll('.table-scroll')].some((b) => b.scrollWidth > b.clientWidth)")).toBe(true);
    // Every picture of the guide loads.
    const pictures = page.locator('main img');
    expect(await pictures.count()).toBeGreaterThan(0);
    for (const picture of await pictures.all()) await picture.scrollIntoViewIfNeeded();
    await page.waitForFunction("[...document.querySelectorAll('main img')].every((img) => img.naturalWidth > 0)", undefined, {
      timeout: WAIT_MS,
    });

    await page.locator('td a[href="#game"]').click();
    expect(new URL(page.url()).hash).toBe('#game');
    // The summary's link lands on the section's heading.
    expect(await page.evaluate("Math.abs(document.getElementById('game').getBoundingClientRect().top)")).toBeLessThan(40);
    await page.locator('a[href="../"]').first().click();
    await page.waitForURL(/\/demo\/$/, { timeout: WAIT_MS });
    await page.locator('#guide-link a').click();
    await page.waitForURL(/\/demo\/choosing-a-transport\/$/, { timeout: WAIT_MS });
    await page.locator('a[href="../../"]').click();
    // The landing page writes its channel into its URL (`/?channel=demo`) as soon as it runs.
    await page.waitForURL((url) => url.origin === session.hub.url && url.pathname === '/', { timeout: WAIT_MS });
    await page.locator('#guide-link').waitFor({ timeout: WAIT_MS });
    expect(await page.evaluate('document.scrollingElement.scrollWidth')).toBeLessThanOrEqual(390);
    expect(await page.locator('#choosing-a-transport code', { hasText: 'docs/choosing-a-transport.md' }).isVisible()).toBe(false);
    expect(errors).toEqual([]);
  });

  it('is linked from the landing page only where the hub serves it', () => {
    // herald start's dev profile serves the demos, so its page says so; an embedded hub's page
    // (landingPageOptions()) hides the links (mounted-browser.test.ts looks at it in Chromium).
    expect(loadLandingPage()).toContain('<html lang="en" data-demos="off">');
    expect(loadLandingPage({ demos: true })).toContain('<html lang="en" data-demos="on">');
    expect(landingPageOptions().landingPage).toBe(loadLandingPage());
  });
});
