import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadAdminPage } from './admin-page.js';
import { loadLandingPage } from './landing-page.js';
import { BASE_STYLES_MARKER, inlineBaseStyles } from './page-styles.js';

const base = readFileSync(new URL('../public/base.css', import.meta.url), 'utf8');
const indented = (css: string, indent: string): string =>
  css
    .trimEnd()
    .split('\n')
    .map((line) => (line === '' ? line : indent + line))
    .join('\n');

describe('inlineBaseStyles', () => {
  it('puts public/base.css in place of the marker, indented like it, once', () => {
    const html = `<style>\n      ${BASE_STYLES_MARKER}\n      .x {\n        color: red;\n      }\n    </style>`;
    expect(inlineBaseStyles(html)).toBe(`<style>\n${indented(base, '      ')}\n      .x {\n        color: red;\n      }\n    </style>`);
  });

  it('throws on a page without the marker', () => {
    expect(() => inlineBaseStyles('<style></style>')).toThrow(`page has no ${BASE_STYLES_MARKER} marker`);
  });

  it.each([
    ['the landing page', loadLandingPage()],
    ['the operations console', loadAdminPage()],
  ])('%s is served with the base styles inside its one <style>, the marker gone', (_name, html) => {
    expect(html).not.toContain(BASE_STYLES_MARKER);
    expect(html.match(/<style>/g)).toHaveLength(1);
    const style = html.slice(html.indexOf('<style>'), html.indexOf('</style>'));
    expect(style).toContain(indented(base, '      '));
  });
});
