import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ClientBundles } from '@herald/server';
import { inlineBaseStyles } from './page-styles.js';

/** What {@link loadLandingPage} and {@link landingPageOptions} show. */
export interface LandingPageOptions {
  /**
   * The hub serves the demo apps under `demo/` beside the page (`createDemoHost` of `@herald/demo`,
   * as `herald start` does in the dev profile): the page links to them and to the transport guide
   * (`demo/choosing-a-transport/`). Otherwise it names the guide's file in the repository, and links
   * nowhere that would answer 404.
   * @default false
   */
  readonly demos?: boolean | undefined;
}

/** The landing page HTML (the native snippets running side by side, and the SDK panel), `public/base.css` inlined. */
export function loadLandingPage(options: LandingPageOptions = {}): string {
  const html = inlineBaseStyles(readFileSync(new URL('../public/index.html', import.meta.url), 'utf8'));
  return options.demos === true ? html.replace('<html lang="en" data-demos="off">', '<html lang="en" data-demos="on">') : html;
}

/** The browser bundles `@herald/client` builds into its `dist`, each served by the hub at `/sdk/<file>`. */
export type ClientBundleFile = 'herald-client.js' | 'herald-share.js' | 'herald-compact.js' | 'herald-msgpack.js' | 'herald-outbox.js';

/**
 * A browser bundle of `@herald/client` (served at `/sdk/<file>`): the SDK, the code of its
 * `share: true`, a frame format or the offline outbox; undefined if not built.
 */
export function loadClientBundle(file: ClientBundleFile = 'herald-client.js'): string | undefined {
  try {
    return readFileSync(createRequire(import.meta.url).resolve(`@herald/client/${file}`), 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The bundles for the hub's `clientBundles` option (`/sdk/herald-compact.js`,
 * `/sdk/herald-msgpack.js`, `/sdk/herald-outbox.js`): those built, the others left out (404).
 */
export function loadClientBundles(): ClientBundles {
  const compact = loadClientBundle('herald-compact.js');
  const msgpack = loadClientBundle('herald-msgpack.js');
  const outbox = loadClientBundle('herald-outbox.js');
  return { ...(compact !== undefined && { compact }), ...(msgpack !== undefined && { msgpack }), ...(outbox !== undefined && { outbox }) };
}

/**
 * Options of `createHerald` (or `createHeraldServer`) that serve the landing page at `/` and the
 * client SDK's browser bundles at `/sdk/herald-client.js` (and the others beside it), under the hub's mount path: with
 * `path: '/realtime'`, the page is at `/realtime/` and talks to the hub under `/realtime`. The
 * bundle is left out (404) when `@herald/client` is not built. The page lets anyone who can reach
 * it publish on any channel it may: for development, like `herald start --profile dev`. With
 * `demos: true`, it links to the demo apps the hub serves under `demo/`.
 */
export function landingPageOptions(options: LandingPageOptions = {}): {
  readonly landingPage: string;
  readonly clientBundle?: string;
  readonly clientShareBundle?: string;
  readonly clientBundles: ClientBundles;
} {
  const clientBundle = loadClientBundle();
  const clientShareBundle = loadClientBundle('herald-share.js');
  return {
    landingPage: loadLandingPage(options),
    ...(clientBundle !== undefined && { clientBundle }),
    ...(clientShareBundle !== undefined && { clientShareBundle }),
    clientBundles: loadClientBundles(),
  };
}
