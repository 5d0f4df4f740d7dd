#!/usr/bin/env node
// What one idle subscribed connection costs a server's heap, by object kind: runs a bench target in
// this process (started with --expose-gc), takes a heap snapshot, opens N connections from a child
// process (the same clients as bench/run.mjs), takes another, and prints the difference per
// connection grouped by constructor. Not a timed benchmark: a tool to see where the bytes go.
//
//   npm run build && node --expose-gc bench/tools/heap-per-connection.mjs herald-ws 2000 [rows]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';
import { ChildProcess } from '../lib/ipc.mjs';
import { ProgressReceiver } from '../lib/progress.mjs';
import { TARGETS } from '../lib/targets.mjs';

const [name = 'herald-ws', countText = '2000', rowsText = '30'] = process.argv.slice(2);
const spec = TARGETS[name];
if (spec === undefined) throw new Error(`unknown target ${name}; one of ${Object.keys(TARGETS).join(', ')}`);
if (globalThis.gc === undefined) throw new Error('run with node --expose-gc');
const count = Number(countText);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Self size and count per `type:name` of a heap snapshot file. */
function byKind(file) {
  const snapshot = JSON.parse(readFileSync(file, 'utf8'));
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const kinds = new Map();
  const nodes = snapshot.nodes;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    // Strings are grouped by type only: their names are their contents.
    const label =
      type === 'string' || type === 'concatenated string' || type === 'number' ? type : `${type}:${snapshot.strings[nodes[i + nameAt]]}`;
    const kind = kinds.get(label) ?? { size: 0, count: 0 };
    kind.size += nodes[i + sizeAt];
    kind.count++;
    kinds.set(label, kind);
  }
  return kinds;
}

function snapshotNow(dir, tag) {
  globalThis.gc();
  globalThis.gc();
  return writeHeapSnapshot(join(dir, `${tag}.heapsnapshot`));
}

const dir = mkdtempSync(join(tmpdir(), 'heap-per-connection-'));
const module = await import(`../targets/${spec.module}`);
const target = await module.start({ ...spec.options, historySize: 1000 });
const progress = new ProgressReceiver();
const progressPort = await progress.listen();
const client = new ChildProcess(fileURLToPath(new URL('../client.mjs', import.meta.url)));
try {
  await sleep(200);
  const before = snapshotNow(dir, 'before');
  const result = await client.request(
    'connect',
    { target: name, port: target.port, progressPort, index: 0, count, first: 0, sampleEvery: count + 1, concurrency: 128 },
    120_000,
  );
  if (result.failed > 0) throw new Error(`${result.failed} connections failed: ${result.lastError}`);
  while (target.subscribers() < count) await sleep(50);
  await sleep(500);
  const after = snapshotNow(dir, 'after');
  const [a, b] = [byKind(before), byKind(after)];
  const rows = [];
  let total = 0;
  for (const [label, kind] of b) {
    const old = a.get(label) ?? { size: 0, count: 0 };
    const size = kind.size - old.size;
    total += size;
    rows.push({ label, bytesPerConnection: size / count, countPerConnection: (kind.count - old.count) / count });
  }
  rows.sort((x, y) => y.bytesPerConnection - x.bytesPerConnection);
  console.log(`${name}: ${(total / count).toFixed(0)} B of heap per connection (${count} idle subscribed connections)`);
  for (const row of rows.slice(0, Number(rowsText))) {
    console.log(`${row.bytesPerConnection.toFixed(1).padStart(8)} B  ${row.countPerConnection.toFixed(2).padStart(6)} ×  ${row.label}`);
  }
} finally {
  await client.stop();
  await target.close?.();
  if (process.env.KEEP_SNAPSHOTS === undefined) rmSync(dir, { recursive: true, force: true });
  else console.log(`snapshots kept in ${dir}`);
}
// The progress socket and the target's timers would keep the process alive.
process.exit(0);
