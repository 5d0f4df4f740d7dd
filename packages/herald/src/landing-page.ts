import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The landing page HTML (the native snippets running side by side, and the SDK panel). */
export function loadLandingPage(): string {
  return readFileSync(new URL('../public/index.html', import.meta.url), 'utf8');
}

/** The browser bundle of `@herald/client`, served at `/sdk/herald-client.js`; undefined if not built. */
export function loadClientBundle(): string | undefined {
  try {
    return readFileSync(createRequire(import.meta.url).resolve('@herald/client/herald-client.js'), 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Options of `createHerald` (or `createHeraldServer`) that serve the landing page at `/` and the
 * client SDK's browser bundle at `/sdk/herald-client.js`, under the hub's mount path: with
 * `path: '/realtime'`, the page is at `/realtime/` and talks to the hub under `/realtime`. The
 * bundle is left out (404) when `@herald/client` is not built. The page lets anyone who can reach
 * it publish on any channel it may: for development, like `herald start --profile dev`.
 */
export function landingPageOptions(): { readonly landingPage: string; readonly clientBundle?: string } {
  const clientBundle = loadClientBundle();
  return { landingPage: loadLandingPage(), ...(clientBundle !== undefined && { clientBundle }) };
}
