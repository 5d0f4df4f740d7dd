import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHeraldServer, silentLogger, type HeraldServer, type HeraldServerOptions } from '@herald/server';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { loadClientBundle } from '../src/landing-page.js';
import { launchChromium, WAIT_MS } from './demo-page.js';

// A page with the SDK's browser bundle against a test hub, for the Chromium tests: a hub that
// serves the bundle (or any scripts) on its own origin, and pages opened on a document of that hub
// with a module script in them.

/** JavaScript a test hub serves: the path of each `GET`, and the code it answers with. */
export type Scripts = Readonly<Record<string, string>>;

/** The SDK's browser bundle (packages/client/dist/herald-client.js); throws when it is not built. */
export function clientBundle(): string {
  const bundle = loadClientBundle();
  if (bundle === undefined) throw new Error('packages/client/dist/herald-client.js is missing: run npm run build first');
  return bundle;
}

/** `HeraldServerOptions.routes` that answers `GET` of each path in `scripts` with its code, as JavaScript. */
export function scriptRoutes(scripts: Scripts): NonNullable<HeraldServerOptions['routes']> {
  return (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const code = Object.hasOwn(scripts, url.pathname) ? scripts[url.pathname] : undefined;
    if (code === undefined || req.method !== 'GET') return false;
    res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' });
    res.end(code);
    return true;
  };
}

/** A hub listening on 127.0.0.1, and its base URL (`http://127.0.0.1:<port>`). */
export interface ScriptHub {
  readonly server: HeraldServer;
  readonly port: number;
  readonly url: string;
}

/**
 * Starts `createHeraldServer(options)` (silent) on a free port of 127.0.0.1, serving `scripts`
 * through its `routes`.
 * @default scripts `{ '/sdk/herald-client.js': clientBundle() }`
 */
export async function startScriptHub(options: HeraldServerOptions = {}, scripts?: Scripts): Promise<ScriptHub> {
  const server = createHeraldServer({
    logger: silentLogger,
    ...options,
    routes: scriptRoutes(scripts ?? { '/sdk/herald-client.js': clientBundle() }),
  });
  const port = await server.listen(0, '127.0.0.1');
  return { server, port, url: `http://127.0.0.1:${port}` };
}

/** What `openSdkPage` adds to the page, and when it is ready. */
export interface SdkPageOptions {
  /** Runs on the new page before it loads (to attach network listeners). */
  readonly prepare?: (page: Page) => void;
  /** A module script added once the document has loaded. */
  readonly script?: string;
  /** A page expression awaited (up to `WAIT_MS`) after the script was added, e.g. `'window.sdk !== undefined'`. */
  readonly ready?: string;
}

/** A page open on a document of a hub, with the errors it raised (`pageerror`), in order. */
export interface SdkPage {
  readonly page: Page;
  readonly errors: string[];
}

/**
 * Opens a new page (its own context) on `${url}/healthz`, a document the hub serves: Chromium's
 * local network checks refuse a made-up page's sockets to 127.0.0.1, and the SDK's requests are
 * then same-origin. Then adds `options.script` as a module and waits for `options.ready`. The
 * caller closes the page (closed here when opening it fails).
 */
export async function openSdkPage(browser: Browser, url: string, options: SdkPageOptions = {}): Promise<SdkPage> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  try {
    options.prepare?.(page);
    await page.goto(`${url}/healthz`);
    if (options.script !== undefined) await page.addScriptTag({ type: 'module', content: options.script });
    if (options.ready !== undefined) await page.waitForFunction(options.ready, undefined, { timeout: WAIT_MS });
  } catch (error) {
    await page.close();
    throw error;
  }
  return { page, errors };
}

/** The hub and Chromium a test file shares (see {@link useSdkBrowser}); read them inside tests. */
export interface SdkBrowser {
  readonly browser: Browser;
  readonly server: HeraldServer;
  /** The hub's base URL. */
  readonly url: string;
  /** {@link openSdkPage} on this hub. */
  open(options?: SdkPageOptions): Promise<SdkPage>;
}

/**
 * For a whole test file: in `beforeAll`, starts a hub with `startScriptHub(await setup())` and
 * launches Chromium; in `afterAll`, closes both. `setup` runs in `beforeAll`, so it may build bundles.
 */
export function useSdkBrowser(
  setup: () =>
    { options?: HeraldServerOptions; scripts?: Scripts } | Promise<{ options?: HeraldServerOptions; scripts?: Scripts }> = () => ({}),
): SdkBrowser {
  let hub: ScriptHub | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    const { options, scripts } = await setup();
    hub = await startScriptHub(options, scripts);
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await hub?.server.close();
  });
  // Read after beforeAll ran: a test that runs without it is a mistake in the test file.
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useSdkBrowser: the hub and browser start in beforeAll');
    return value;
  };
  return {
    get browser() {
      return started(browser);
    },
    get server() {
      return started(hub).server;
    },
    get url() {
      return started(hub).url;
    },
    open(options) {
      return openSdkPage(started(browser), started(hub).url, options);
    },
  };
}
