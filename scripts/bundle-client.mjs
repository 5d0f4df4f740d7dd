#!/usr/bin/env node
// Builds the browser bundle of @herald/client (ESM, minified) into packages/client/dist/herald-client.js,
// the file the hub serves at /sdk/herald-client.js and the size budget measures; and beside it the
// offline outbox (`@herald/client/outbox`, with idb) as herald-outbox.js, which imports what it
// shares with the client (HeraldClientError, backoffDelay) from ./herald-client.js, so a page that
// loads both has one of each.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
export const BUNDLE = `${root}packages/client/dist/herald-client.js`;
export const OUTBOX_BUNDLE = `${root}packages/client/dist/herald-outbox.js`;

/** Resolves the outbox's imports of the client's own modules to the client bundle beside it. */
const fromClientBundle = {
  name: 'from-client-bundle',
  setup(build) {
    build.onResolve({ filter: /^\.\/(errors|backoff)\.js$/ }, () => ({ path: './herald-client.js', external: true }));
  },
};

export async function bundleClient() {
  await build({
    entryPoints: [`${root}packages/client/src/index.ts`],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    outfile: BUNDLE,
    legalComments: 'none',
    logLevel: 'warning',
  });
  await build({
    entryPoints: [`${root}packages/client/src/outbox.ts`],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    outfile: OUTBOX_BUNDLE,
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [fromClientBundle],
  });
  return BUNDLE;
}

if (import.meta.url === `file://${process.argv[1]}`) await bundleClient();
