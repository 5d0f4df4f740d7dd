#!/usr/bin/env node
// Browser bundle sizes, minified + gzip (level 9), measured the same way for Herald's client,
// socket.io-client and centrifuge: esbuild bundles an entry that imports the client's main export,
// for the browser, minified, ESM.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { shareChunk } from '../bundle-client.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Budget for @herald/client: 10 KB (10,240 bytes) minified + gzip. It was 8 KB until the core took
 * acknowledgements, presence on polling, and the hooks of the separate entries (frame formats,
 * outbox, shared connection, deltas), whose own code stays out of it (BENCHMARKS.md "Client budgets").
 */
export const CLIENT_BUDGET_BYTES = 10 * 1024;

const entries = {
  '@herald/client': `export { createClient } from '${root}packages/client/src/index.ts';`,
  'socket.io-client': `export { io } from 'socket.io-client';`,
  centrifuge: `export { Centrifuge } from 'centrifuge';`,
};

async function measure(contents) {
  const result = await build({
    // `share: true` loads its code from herald-share.js when asked: not part of what every page loads.
    plugins: [shareChunk],
    stdin: { contents, resolveDir: root, loader: 'ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].contents;
  return { minified: code.length, gzip: gzipSync(code, { level: 9 }).length };
}

/** Sizes in bytes for each client. */
export async function measureBundles() {
  const sizes = {};
  for (const [name, contents] of Object.entries(entries)) sizes[name] = await measure(contents);
  return sizes;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sizes = await measureBundles();
  for (const [name, { minified, gzip }] of Object.entries(sizes)) {
    console.log(
      `${name.padEnd(18)} ${(minified / 1024).toFixed(1).padStart(6)} KB min  ${(gzip / 1024).toFixed(2).padStart(6)} KB min+gzip`,
    );
  }
  const ours = sizes['@herald/client'].gzip;
  console.log(
    ours <= CLIENT_BUDGET_BYTES
      ? `within budget (${ours} ≤ ${CLIENT_BUDGET_BYTES} bytes)`
      : `OVER BUDGET (${ours} > ${CLIENT_BUDGET_BYTES} bytes)`,
  );
  process.exitCode = ours <= CLIENT_BUDGET_BYTES ? 0 : 1;
}
