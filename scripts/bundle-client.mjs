#!/usr/bin/env node
// Builds the browser bundle of @herald/client (ESM, minified) into packages/client/dist/herald-client.js,
// the file the hub serves at /sdk/herald-client.js and the size budget measures; and beside it:
// - the offline outbox (`@herald/client/outbox`, with idb) as herald-outbox.js, which imports what it
//   shares with the client (HeraldClientError, backoffDelay) from ./herald-client.js, so a page that
//   loads both has one of each;
// - herald-share.js (/sdk/herald-share.js): the code of `createClient({ share: true })`, which the
//   client imports only when asked, so that clients that do not share pay nothing for it; it imports
//   the client and its error class from ./herald-client.js, like the outbox.
// - the frame formats (`@herald/client/compact`, `@herald/client/msgpack`) as herald-compact.js and
//   herald-msgpack.js: standalone, imported only by a page that passes one as `format`.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
export const BUNDLE = `${root}packages/client/dist/herald-client.js`;
export const OUTBOX_BUNDLE = `${root}packages/client/dist/herald-outbox.js`;
export const SHARE_BUNDLE = `${root}packages/client/dist/herald-share.js`;
/** The frame formats' bundles, by entry. */
export const FORMAT_BUNDLES = {
  compact: `${root}packages/client/dist/herald-compact.js`,
  msgpack: `${root}packages/client/dist/herald-msgpack.js`,
};

/** Resolves the outbox's imports of the client's own modules to the client bundle beside it. */
const fromClientBundle = {
  name: 'from-client-bundle',
  setup(build) {
    build.onResolve({ filter: /^\.\/(errors|backoff)\.js$/ }, () => ({ path: './herald-client.js', external: true }));
  },
};

/** The same for the share code (in share/): the client and its error class come from the bundle. */
const shareFromClientBundle = {
  name: 'share-from-client-bundle',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/(client|errors)\.js$/ }, () => ({ path: './herald-client.js', external: true }));
  },
};

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
  await build({ ...common, entryPoints: [`${root}packages/client/src/outbox.ts`], outfile: OUTBOX_BUNDLE, plugins: [fromClientBundle] });
  await build({
    ...common,
    entryPoints: [`${root}packages/client/src/share/index.ts`],
    outfile: SHARE_BUNDLE,
    plugins: [shareFromClientBundle],
  });
  for (const [entry, outfile] of Object.entries(FORMAT_BUNDLES)) {
    await build({ ...common, entryPoints: [`${root}packages/client/src/${entry}.ts`], outfile });
  }
  return BUNDLE;
}

if (import.meta.url === `file://${process.argv[1]}`) await bundleClient();
