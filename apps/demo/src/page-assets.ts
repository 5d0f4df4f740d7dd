import { readFileSync } from 'node:fs';

/**
 * The built pages: `dist/pages/<name>/index.html` and `main.js` per demo, `dist/pages/assets/*`
 * shared. The same path from `src/` (tests run the sources) and from `dist/`.
 */
export const PAGES_DIR = new URL('../dist/pages/', import.meta.url);

/** A file to serve: its bytes and content type. */
export interface PageAsset {
  readonly type: string;
  readonly body: string;
}

const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** Reads `dist/pages/<path>`; `undefined` when it is not built (or not a served type). */
export function readPageAsset(path: string, dir: URL = PAGES_DIR): PageAsset | undefined {
  const type = TYPES[path.slice(path.lastIndexOf('.') + 1)];
  if (type === undefined) return undefined;
  try {
    return { type, body: readFileSync(new URL(path, dir), 'utf8') };
  } catch {
    return undefined;
  }
}
