import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { expect, it } from 'vitest';
import { createBackendClient } from '../src/index.js';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

it('bundles for a browser or edge runtime: no Node module anywhere in its import graph (jose included)', async () => {
  const result = await build({
    entryPoints: [here('../src/index.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
    metafile: true,
  });
  expect(result.errors).toEqual([]);
  const inputs = Object.keys(result.metafile.inputs);
  expect(inputs.some((input) => input.includes('node_modules/jose/'))).toBe(true);
  expect(inputs.filter((input) => input.startsWith('node:') || !/\.(ts|js)$/.test(input))).toEqual([]);
});

it('the built package imports only @herald/protocol and jose, and no node: module', () => {
  const dist = here('../dist/');
  const specifiers = new Set<string>();
  for (const file of readdirSync(dist).filter((f) => f.endsWith('.js'))) {
    const text = readFileSync(dist + file, 'utf8');
    expect(text, file).not.toMatch(/\brequire\(|\bprocess\.|\bBuffer\b/);
    for (const match of text.matchAll(/\bfrom\s+'([^']+)'|\bimport\(\s*'([^']+)'/g)) specifiers.add(match[1] ?? match[2]!);
  }
  expect([...specifiers].filter((s) => !s.startsWith('./')).sort()).toEqual(['@herald/protocol', 'jose']);
});

it.each([
  [{ url: 'not a url' }, new TypeError('url must be an http(s) URL')],
  [{ url: 'ftp://hub' }, new TypeError('url must be an http(s) URL')],
  [{ url: 'http://hub', apiKey: '' }, new TypeError('apiKey must be a non-empty string')],
  [{ url: 'http://hub', timeout: 0 }, new RangeError('timeout must be an integer from 1 to 2147483647')],
  [{ url: 'http://hub', retries: -1 }, new RangeError('retries must be an integer from 0 to 100')],
  [{ url: 'http://hub', retries: 1.5 }, new RangeError('retries must be an integer from 0 to 100')],
  [{ url: 'http://hub', batchSize: 0 }, new RangeError('batchSize must be an integer from 1 to 9007199254740991')],
  [{ url: 'http://hub', maxBatchBytes: 0.5 }, new RangeError('maxBatchBytes must be an integer from 1 to 9007199254740991')],
])('createBackendClient(%j) throws %s', (options, error) => {
  expect(() => createBackendClient(options)).toThrow(error);
});
