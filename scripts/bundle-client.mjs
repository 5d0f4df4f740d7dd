#!/usr/bin/env node
// Builds the browser bundle of @herald/client (ESM, minified) into packages/client/dist/herald-client.js,
// the file the hub serves at /sdk/herald-client.js and the size budget measures, and beside it
// herald-share.js (/sdk/herald-share.js): the code of `createClient({ share: true })`, which the
// client imports only when asked, so that clients that do not share pay nothing for it.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
export const BUNDLE = `${root}packages/client/dist/herald-client.js`;
export const SHARE_BUNDLE = `${root}packages/client/dist/herald-share.js`;

/** Leaves the client's `import('./share/index.js')` to load herald-share.js beside the bundle. */
export const shareChunk = {
  name: 'herald-share-chunk',
  setup(build) {
    build.onResolve({ filter: /\/share\/index\.js$/ }, () => ({ path: './herald-share.js', external: true }));
  },
};

const common = {
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  platform: 'browser',
  legalComments: 'none',
  logLevel: 'warning',
};

export async function bundleClient() {
  await build({ ...common, entryPoints: [`${root}packages/client/src/index.ts`], outfile: BUNDLE, plugins: [shareChunk] });
  await build({ ...common, entryPoints: [`${root}packages/client/src/share/index.ts`], outfile: SHARE_BUNDLE });
  return BUNDLE;
}

if (import.meta.url === `file://${process.argv[1]}`) await bundleClient();
