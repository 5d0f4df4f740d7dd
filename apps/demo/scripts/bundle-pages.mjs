#!/usr/bin/env node
// Builds the demo pages into apps/demo/dist/pages/: per demo folder src/demos/<name>/, its page.html
// as <name>/index.html and browser/main.ts bundled (with @herald/client) as <name>/main.js; the
// shared src/browser/demo.css as assets/demo.css, after Herald's base styles (packages/herald/public/base.css,
// which the landing page and the console inline); docs/choosing-a-transport.md as the guide page
// choosing-a-transport/index.html (render-guide.mjs). No CDN: the pages work offline.
import { build } from 'esbuild';
import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { buildGuide } from './render-guide.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const out = `${root}dist/pages/`;

export async function bundlePages() {
  const names = (await readdir(`${root}src/demos`, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  await mkdir(`${out}assets`, { recursive: true });
  const [base, demoCss] = await Promise.all([
    readFile(`${repoRoot}packages/herald/public/base.css`, 'utf8'),
    readFile(`${root}src/browser/demo.css`, 'utf8'),
  ]);
  await writeFile(`${out}assets/demo.css`, `${base}\n${demoCss}`);
  await buildGuide(repoRoot, out, names);
  await Promise.all(
    names.map(async (name) => {
      await mkdir(`${out}${name}`, { recursive: true });
      await copyFile(`${root}src/demos/${name}/page.html`, `${out}${name}/index.html`);
      await build({
        entryPoints: [`${root}src/demos/${name}/browser/main.ts`],
        bundle: true,
        minify: true,
        format: 'esm',
        target: 'es2022',
        platform: 'browser',
        outfile: `${out}${name}/main.js`,
        legalComments: 'none',
        logLevel: 'warning',
      });
    }),
  );
  return names;
}

if (import.meta.url === `file://${process.argv[1]}`) await bundlePages();
