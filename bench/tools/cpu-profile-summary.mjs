#!/usr/bin/env node
// Summarises a V8 CPU profile (from `node --cpu-prof`, e.g. BENCH_SERVER_FLAGS="--cpu-prof
// --cpu-prof-dir=prof" npm run bench -- …): the functions with the most self and inclusive time.
// Usage: node bench/tools/cpu-profile-summary.mjs FILE.cpuprofile [TOP=30] [LAST_SECONDS]
// LAST_SECONDS keeps only the end of the profile, e.g. the throughput phase without the connects.
import { readFileSync } from 'node:fs';

const [file, topText = '30', lastText = '0'] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: cpu-profile-summary.mjs FILE.cpuprofile [TOP] [LAST_SECONDS]');
  process.exit(2);
}
const top = Number(topText);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);

const from = Number(lastText) > 0 ? profile.endTime - Number(lastText) * 1e6 : -Infinity;
const timePerNode = new Map();
let at = profile.startTime;
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  at += dt;
  if (at < from) return;
  timePerNode.set(id, (timePerNode.get(id) ?? 0) + dt);
  total += dt;
});

const label = (n) => {
  const { functionName, url, lineNumber } = n.callFrame;
  return `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
};
const self = new Map();
const inclusive = new Map();
for (const [id, t] of timePerNode) {
  const own = label(nodes.get(id));
  self.set(own, (self.get(own) ?? 0) + t);
  // Count each function once per sample even when it recurses.
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const name = label(nodes.get(cur));
    if (seen.has(name)) continue;
    seen.add(name);
    inclusive.set(name, (inclusive.get(name) ?? 0) + t);
  }
}
const list = (map) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, t]) => `${(t / 1000).toFixed(0).padStart(7)} ms ${((100 * t) / total).toFixed(1).padStart(5)} %  ${name}`)
    .join('\n');
console.log(`${(total / 1000).toFixed(0)} ms sampled\n\nself time:\n${list(self)}\n\ninclusive time:\n${list(inclusive)}`);
