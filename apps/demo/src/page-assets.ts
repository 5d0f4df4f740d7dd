import { readFileSync } from 'node:fs';

/**
 * The built pages: `dist/pages/<name>/index.html` and `main.js` per demo, the transport guide's
 * `dist/pages/choosing-a-transport/index.html`, `dist/pages/assets/*` shared (styles, the guide's
 * pictures). The same path from `src/` (tests run the sources) and from `dist/`.
 */
export const PAGES_DIR = new URL('../dist/pages/', import.meta.url);

/** A file to serve: its content type and its text (a `text/*` type) or bytes. */
export interface PageAsset {
  readonly type: string;
  readonly body: string | Buffer;
}

const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  png: 'image/png',
};

/** Reads `dist/pages/<path>`; `undefined` when it is not built (or not a served type). */
export function readPageAsset(path: string, dir: URL = PAGES_DIR): PageAsset | undefined {
  const type = TYPES[path.slice(path.lastIndexOf('.') + 1)];
  if (type === undefined) return undefined;
  try {
    const file = new URL(path, dir);
    return { type, body: type.startsWith('text/') ? readFileSync(file, 'utf8') : readFileSync(file) };
  } catch {
    return undefined;
  }
}
