import { readFileSync } from 'node:fs';

/** The landing page HTML (the three native snippets running side by side). */
export function loadLandingPage(): string {
  return readFileSync(new URL('../public/index.html', import.meta.url), 'utf8');
}
