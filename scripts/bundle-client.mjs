#!/usr/bin/env node
// Builds the browser bundle of @herald/client (ESM, minified) into packages/client/dist/herald-client.js,
// the file the hub serves at /sdk/herald-client.js and the size budget measures.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
export const BUNDLE = `${root}packages/client/dist/herald-client.js`;

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
  return BUNDLE;
}

if (import.meta.url === `file://${process.argv[1]}`) await bundleClient();
