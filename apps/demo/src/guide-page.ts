import { MARK } from './demo-header.js';
import type { PageAsset } from './page-assets.js';

/**
 * The transport guide's path under `/demo/` and its folder in the built pages: `docs/choosing-a-transport.md`
 * rendered at build time by `scripts/render-guide.mjs` (which names the same folder).
 */
export const GUIDE_NAME = 'choosing-a-transport';

/** The built guide with the brand mark in place of its `<!-- demo:mark -->`. */
export function renderGuidePage(page: PageAsset): PageAsset {
  const html = typeof page.body === 'string' ? page.body : page.body.toString('utf8');
  return { type: page.type, body: html.replace('<!-- demo:mark -->', MARK) };
}
