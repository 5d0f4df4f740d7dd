import { readFileSync } from 'node:fs';

/** The comment in a page's `<style>` that {@link inlineBaseStyles} replaces with `public/base.css`. */
export const BASE_STYLES_MARKER = '/* herald:base.css */';

let baseStyles: string | undefined;

/**
 * The page's HTML with its {@link BASE_STYLES_MARKER} replaced by the shared stylesheet
 * `public/base.css` (design tokens, page frame, brand, cards, buttons), indented like the marker. The
 * landing page and the operations console stay one self-contained response: no extra request, which
 * matters under a mount prefix. The file is read once per process.
 * @throws {Error} when the page has no marker (a broken page, not a user error).
 */
export function inlineBaseStyles(html: string): string {
  const at = html.indexOf(BASE_STYLES_MARKER);
  if (at === -1) throw new Error(`page has no ${BASE_STYLES_MARKER} marker`);
  baseStyles ??= readFileSync(new URL('../public/base.css', import.meta.url), 'utf8');
  const indent = html.slice(html.lastIndexOf('\n', at) + 1, at);
  const css = baseStyles
    .trimEnd()
    .split('\n')
    .map((line, i) => (i === 0 || line === '' ? line : indent + line))
    .join('\n');
  return html.slice(0, at) + css + html.slice(at + BASE_STYLES_MARKER.length);
}
