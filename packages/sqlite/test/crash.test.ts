import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteBroker } from '@herald/sqlite';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const source = (pkg: string): string => fileURLToPath(new URL(`../../${pkg}/src/index.ts`, import.meta.url));
// Inside the repository (not the system temp dir) so the bundle resolves better-sqlite3 from node_modules.
const bundleDir = join(packageDir, '.tmp');
const bundle = join(bundleDir, `crash-publisher-${process.pid}.mjs`);
const dir = mkdtempSync(join(tmpdir(), 'herald-sqlite-crash-'));

beforeAll(async () => {
  mkdirSync(bundleDir, { recursive: true });
  // The child runs this package's sources, as the tests do (not a possibly stale dist/).
  await build({
    entryPoints: [join(packageDir, 'test/fixtures/crash-publisher.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['better-sqlite3', 'ws', 'jose', 'prom-client'],
    alias: { '@herald/sqlite': source('sqlite'), '@herald/server': source('server'), '@herald/protocol': source('protocol') },
    logLevel: 'silent',
  });
});
afterAll(() => {
  rmSync(bundle, { force: true });
  try {
    rmdirSync(bundleDir);
  } catch {
    // Not empty: another run's bundle is still there.
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the publisher until it kills itself; resolves with the positions it saw resolve, and its exit signal. */
function publishAndCrash(
  path: string,
  channel: string,
  count: number,
): Promise<{ acknowledged: string[]; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bundle, path, channel, String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (_code, signal) => resolve({ acknowledged: stdout.split('\n').filter(Boolean), signal, stderr }));
  });
}

describe('crash: a process killed without closing the broker loses no acknowledged publish', () => {
  it('keeps every message whose publish resolved, and the next process continues after them', async () => {
    const path = join(dir, 'crash.db');
    const { acknowledged, signal, stderr } = await publishAndCrash(path, 'c', 200);
    expect(stderr).toBe('');
    expect(signal).toBe('SIGKILL');
    expect(acknowledged).toHaveLength(200);
    // Killed before closing: the commits are still in the write-ahead log, not folded into the file.
    expect(existsSync(`${path}-wal`)).toBe(true);
    const epoch = acknowledged[0]!.split(' ')[0]!;

    const broker = new SqliteBroker({ path });
    try {
      const read = await broker.read('c');
      expect(read.position).toEqual({ epoch, offset: 200 });
      expect(read.messages.map((m) => `${m.epoch} ${m.offset}`)).toEqual(acknowledged);
      expect(read.messages.map((m) => JSON.parse(m.json).data.i)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(await broker.publish('c', '"next"')).toMatchObject({ epoch, offset: 201 });
    } finally {
      await broker.close();
    }
  });
});
