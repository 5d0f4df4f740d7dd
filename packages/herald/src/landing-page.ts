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
