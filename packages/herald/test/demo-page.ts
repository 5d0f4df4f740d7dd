import { silentLogger } from '@herald/server';
import { chromium, type Browser, type Page } from 'playwright-core';
import { configSchema } from '../src/config.js';
import { startHub, type RunningHub } from '../src/start.js';

/** The three panels of the landing page. */
export type Panel = 'poll' | 'sse' | 'ws';

export const PANELS: readonly Panel[] = ['poll', 'sse', 'ws'];

/** A message as a panel received it (the envelope every transport delivers). */
export interface DemoEnvelope {
  readonly type: 'message';
  readonly channel: string;
  readonly offset: number;
  readonly epoch: string;
  readonly time: number;
  readonly data: unknown;
}

/** What the landing page exposes on `window.heraldDemo`. */
export interface HeraldDemo {
  readonly channel: string;
  readonly poll: DemoEnvelope[];
  readonly sse: DemoEnvelope[];
  readonly ws: DemoEnvelope[];
  readonly gaps: Record<Panel, unknown[]>;
  readonly ready: Record<Panel, boolean>;
  readonly state: Record<Panel, string>;
  readonly opens: Record<Panel, number>;
  readonly publishes: { via: 'http' | 'ws'; data: unknown; offset?: number; error?: string }[];
}

/** Chromium flags for a headless run in a container, with nothing reaching outside. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Per wait; generous, so the suite passes on a loaded 2-core machine (tests allow 60 s in all). */
export const WAIT_MS = 20_000;

/** A landing page open on one channel, with the page errors it raised. */
export interface DemoPage {
  readonly page: Page;
  readonly errors: string[];
}

/**
 * Opens the landing page on `channel` and waits until all three panels are subscribed. `prepare`
 * runs before the page loads (to attach network listeners).
 */
export async function openDemo(browser: Browser, url: string, channel: string, prepare?: (page: Page) => void): Promise<DemoPage> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  prepare?.(page);
  await page.goto(`${url}/?channel=${encodeURIComponent(channel)}`);
  await waitForDemo(page, 'all three panels to subscribe', (demo) => demo.ready.poll && demo.ready.sse && demo.ready.ws, null);
  return { page, errors };
}

/**
 * Waits until `predicate(window.heraldDemo, arg)` holds in the page. The predicate runs in the
 * browser: it may use only its two arguments. On timeout the error shows what each panel has.
 */
export async function waitForDemo<A>(
  page: Page,
  what: string,
  predicate: (demo: HeraldDemo, arg: A) => boolean,
  arg: A,
  timeout = WAIT_MS,
): Promise<void> {
  const expression = `(${predicate.toString()})(window.heraldDemo, ${JSON.stringify(arg)})`;
  try {
    await page.waitForFunction(expression, undefined, { timeout, polling: 50 });
  } catch (error) {
    throw new Error(`timed out waiting for ${what}; page state: ${await describeDemo(page)}`, { cause: error });
  }
}

/** Waits until the panel has received every offset in `offsets`. */
export function waitForOffsets(page: Page, panel: Panel, offsets: readonly number[]): Promise<void> {
  return waitForDemo(
    page,
    `${panel} to receive offsets ${offsets.join(',')}`,
    (demo, arg) => {
      const seen = new Set(demo[arg.panel].map((e) => e.offset));
      return arg.offsets.every((o) => seen.has(o));
    },
    { panel, offsets },
  );
}

/** The envelopes a panel received, in arrival order. */
export function received(page: Page, panel: Panel): Promise<DemoEnvelope[]> {
  return page.evaluate<DemoEnvelope[]>(`window.heraldDemo.${panel}`);
}

/** The whole of `window.heraldDemo`, for assertions on state, opens and publishes. */
export function demoState(page: Page): Promise<HeraldDemo> {
  return page.evaluate<HeraldDemo>('window.heraldDemo');
}

async function describeDemo(page: Page): Promise<string> {
  try {
    return await page.evaluate<string>(`JSON.stringify({
      channel: window.heraldDemo.channel,
      state: window.heraldDemo.state,
      opens: window.heraldDemo.opens,
      offsets: { poll: window.heraldDemo.poll.map((e) => e.offset), sse: window.heraldDemo.sse.map((e) => e.offset), ws: window.heraldDemo.ws.map((e) => e.offset) },
      publishes: window.heraldDemo.publishes,
    })`);
  } catch (error) {
    return `(unreadable: ${(error as Error).message})`;
  }
}

/** `[from, from + 1, …, to]` */
export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Launches Debian's Chromium headless with the flags this machine needs. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/** Starts the dev-profile hub (landing page, SDK bundle) on a free port. */
export function startDevHub(): Promise<RunningHub> {
  return startHub(configSchema.parse({ port: 0, host: '127.0.0.1', historySize: 1000, historyTtl: 0 }), 'dev', silentLogger);
}
