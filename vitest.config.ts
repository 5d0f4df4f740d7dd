import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { defineConfig } from 'vitest/config';
import { RUN_VARIABLE } from './scripts/leftover-hubs.mjs';

// Every process the tests start inherits it: the summary reporter finds (and fails on) any hub the
// run left behind, and only those (scripts/leftover-hubs.mjs).
process.env[RUN_VARIABLE] ??= randomUUID();

const src = (pkg: string): string => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources, so `npm test` never depends on a stale build.
    alias: {
      '@herald/protocol': src('protocol'),
      '@herald/server': src('server'),
      '@herald/redis': src('redis'),
      '@herald/sqlite': src('sqlite'),
      '@herald/nats': src('nats'),
      '@herald/testkit': src('testkit'),
      '@herald/client/node': fileURLToPath(new URL('./packages/client/src/node.ts', import.meta.url)),
      '@herald/client/compact': fileURLToPath(new URL('./packages/client/src/compact.ts', import.meta.url)),
      '@herald/client/msgpack': fileURLToPath(new URL('./packages/client/src/msgpack.ts', import.meta.url)),
      '@herald/client/outbox': fileURLToPath(new URL('./packages/client/src/outbox.ts', import.meta.url)),
      '@herald/client': src('client'),
      '@herald/react': src('react'),
      '@herald/backend': src('backend'),
      '@herald/demo': fileURLToPath(new URL('./apps/demo/src/index.ts', import.meta.url)),
    },
  },
  test: {
    include: [
      'scripts/*.test.ts',
      'apps/*/test/**/*.test.ts',
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'packages/*/test/**/*.test.tsx',
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default', './scripts/summary-reporter.ts'],
  },
});
