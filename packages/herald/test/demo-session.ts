import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { RunningHub } from '../src/start.js';
import { launchChromium, startDevHub } from './demo-page.js';

/** A dev-profile hub with its demos and a Chromium, shared by one test file. */
export interface DemoSession {
  readonly hub: RunningHub;
  readonly browser: Browser;
  /** The contexts opened and not yet closed, in order. */
  readonly contexts: BrowserContext[];
  /** A new browser context (one user: own storage, own connection), closed by the session. */
  context(options?: Parameters<Browser['newContext']>[0]): Promise<BrowserContext>;
}

/**
 * Installs the file's hooks: starts the hub and Chromium before the tests, closes the contexts after
 * each test (or, with `keepContexts`, after the file), then Chromium, the demos and the hub.
 */
export function useDemoSession(options: { readonly keepContexts?: boolean } = {}): DemoSession {
  let hub: RunningHub | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  const closeContexts = async (): Promise<void> => {
    for (const context of contexts.splice(0)) await context.close();
  };
  beforeAll(async () => {
    hub = await startDevHub();
    browser = await launchChromium();
  }, 60_000);
  if (options.keepContexts !== true) afterEach(closeContexts);
  afterAll(async () => {
    await closeContexts();
    await browser?.close();
    await hub?.demos?.stop();
    await hub?.server.close();
  });
  return {
    get hub() {
      return hub!;
    },
    get browser() {
      return browser!;
    },
    contexts,
    async context(contextOptions) {
      const context = await browser!.newContext(contextOptions);
      contexts.push(context);
      return context;
    },
  };
}
