import { readFileSync } from 'node:fs';

/** The version of the `herald` package, from its package.json (beside `dist/`). */
export function heraldVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
