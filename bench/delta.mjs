#!/usr/bin/env node
// Delta encodings compared on a dashboard-like payload (~5 KB of JSON, a few numbers change per
// update) and on a 100-byte payload: fossil delta over the data's JSON text (UTF-16 code units,
// carried as a JSON string: what the hub sends) against RFC 6902 JSON Patch (fast-json-patch).
// Prints bytes per update (as they travel inside a JSON frame) and CPU per update to build the delta
// (hub, once per message per channel) and to apply it (client).
//
// Then the hub end to end (in this process, memory engine, real sockets): --subscribers WebSocket
// clients on one channel, each dashboard update published once; bytes delivered per message and
// process CPU (hub and clients) per delivered message, with deltas and without.
//
//   npm run build && node bench/delta.mjs [--updates 2000] [--subscribers 200] [--published 300]
import { applyDelta, createDelta } from 'fossil-delta';
import jsonPatch from 'fast-json-patch';
import { parseArgs } from 'node:util';
import { applyDelta as sdkApply } from '../packages/client/dist/apply-delta.js';

const { values } = parseArgs({
  options: {
    updates: { type: 'string', default: '2000' },
    subscribers: { type: 'string', default: '200' },
    published: { type: 'string', default: '300' },
  },
});
const UPDATES = Number(values.updates);

/** A seeded generator, so every run measures the same updates. */
function random(seed) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** A monitoring dashboard: 50 hosts with a few gauges each, a summary and the time. */
export function dashboard(rand) {
  const hosts = [];
  for (let i = 0; i < 50; i++)
    hosts.push({
      host: `web-${String(i).padStart(2, '0')}.eu-west.example.net`,
      cpu: Math.round(rand() * 1000) / 10,
      mem: Math.round(rand() * 1000) / 10,
      rps: Math.round(rand() * 5000),
      p99: Math.round(rand() * 400),
      status: 'ok',
    });
  return { title: 'Production — Übersicht', updated: 1_760_000_000_000, totals: { rps: 0, errors: 0 }, hosts };
}

/** The next second's state: a few gauges move, the time and totals change. */
function tick(state, rand) {
  const next = structuredClone(state);
  next.updated += 1000;
  for (let k = 0; k < 4; k++) {
    const host = next.hosts[Math.floor(rand() * next.hosts.length)];
    host.cpu = Math.round(rand() * 1000) / 10;
    host.rps = Math.round(rand() * 5000);
  }
  next.totals.rps = next.hosts.reduce((n, h) => n + h.rps, 0);
  next.totals.errors += rand() < 0.2 ? 1 : 0;
  return next;
}

const small = (rand) => ({
  user: 'u-1842',
  text: 'the build finished in 42 s, all green',
  seq: 0,
  at: 1_760_000_000_000 + Math.floor(rand() * 1e6),
});
const smallTick = (state, rand) => ({ ...state, seq: state.seq + 1, at: state.at + Math.floor(rand() * 1000) });

const toUnits = (text) => {
  const units = new Array(text.length);
  for (let i = 0; i < text.length; i++) units[i] = text.charCodeAt(i);
  return units;
};
const fromUnits = (units) => {
  let out = '';
  for (let i = 0; i < units.length; i += 4096) out += String.fromCharCode(...units.slice(i, i + 4096));
  return out;
};

function measure(name, first, next) {
  const rand = random(17);
  const states = [first(rand)];
  for (let i = 0; i < UPDATES; i++) states.push(next(states.at(-1), rand));
  const texts = states.map((s) => JSON.stringify(s));
  const bytes = (s) => Buffer.byteLength(s);
  const full = texts.slice(1).reduce((n, t) => n + bytes(t), 0) / UPDATES;

  // fossil over the data's JSON text, as the hub builds it: the delta string as a JSON string.
  let fossilBytes = 0;
  const fossilDeltas = [];
  let t0 = process.hrtime.bigint();
  for (let i = 1; i <= UPDATES; i++) fossilDeltas.push(JSON.stringify(fromUnits(createDelta(toUnits(texts[i - 1]), toUnits(texts[i])))));
  const fossilCreate = Number(process.hrtime.bigint() - t0) / UPDATES / 1000;
  for (const d of fossilDeltas) fossilBytes += bytes(d);
  t0 = process.hrtime.bigint();
  for (let i = 1; i <= UPDATES; i++) {
    const out = JSON.parse(fromUnits(applyDelta(toUnits(texts[i - 1]), toUnits(JSON.parse(fossilDeltas[i - 1])))));
    if (i === UPDATES && JSON.stringify(out) !== texts[i]) throw new Error('fossil round trip');
  }
  const fossilApply = Number(process.hrtime.bigint() - t0) / UPDATES / 1000;
  // What the SDK does: its string applyDelta on the previous data's text, then JSON.parse.
  t0 = process.hrtime.bigint();
  for (let i = 1; i <= UPDATES; i++) {
    const out = JSON.parse(sdkApply(texts[i - 1], JSON.parse(fossilDeltas[i - 1])));
    if (i === UPDATES && JSON.stringify(out) !== texts[i]) throw new Error('sdk round trip');
  }
  const sdkApplyUs = Number(process.hrtime.bigint() - t0) / UPDATES / 1000;
  // The baseline a client pays anyway for a full message: JSON.parse of the data.
  t0 = process.hrtime.bigint();
  for (let i = 1; i <= UPDATES; i++) JSON.parse(texts[i]);
  const parseUs = Number(process.hrtime.bigint() - t0) / UPDATES / 1000;

  // RFC 6902: the hub has JSON text, so it parses the new message (the previous one's parse cached).
  let patchBytes = 0;
  const patches = [];
  let previous = JSON.parse(texts[0]);
  t0 = process.hrtime.bigint();
  for (let i = 1; i <= UPDATES; i++) {
    const current = JSON.parse(texts[i]);
    patches.push(JSON.stringify(jsonPatch.compare(previous, current)));
    previous = current;
  }
  const patchCreate = Number(process.hrtime.bigint() - t0) / UPDATES / 1000;
  for (const p of patches) patchBytes += bytes(p);
  // The client must not change the object it gave the app: it applies to a copy.
  let base = JSON.parse(texts[0]);
  t0 = process.hrtime.bigint();
  for (let i = 1; i <= UPDATES; i++)
    base = jsonPatch.applyPatch(structuredClone(base), JSON.parse(patches[i - 1]), false, false).newDocument;
  const patchApply = Number(process.hrtime.bigint() - t0) / UPDATES / 1000;
  if (JSON.stringify(base) !== texts[UPDATES]) throw new Error('patch round trip');

  const row = (label, b, c, a) =>
    `| ${name} | ${label} | ${b.toFixed(0)} | ${((b / full) * 100).toFixed(1)} % | ${c.toFixed(1)} | ${a.toFixed(1)} |`;
  console.log(`| ${name} | full data | ${full.toFixed(0)} | 100 % | – | ${parseUs.toFixed(1)} (JSON.parse) |`);
  console.log(row('fossil (JSON string)', fossilBytes / UPDATES, fossilCreate, fossilApply));
  console.log(row('fossil, SDK applyDelta', fossilBytes / UPDATES, fossilCreate, sdkApplyUs));
  console.log(row('RFC 6902 JSON Patch', patchBytes / UPDATES, patchCreate, patchApply));
}

console.log(`node ${process.version}, ${UPDATES} updates each\n`);
console.log('| payload | encoding | bytes/update | of full | build µs | apply µs |');
console.log('|---|---|---:|---:|---:|---:|');
measure('dashboard ~5 KB', dashboard, tick);
measure('small ~100 B', small, smallTick);

/** The hub end to end: `subscribers` WebSocket clients, `published` dashboard updates, with or without deltas. */
async function endToEnd(delta) {
  const { createHeraldServer, silentLogger } = await import('../packages/server/dist/index.js');
  const { default: WebSocket } = await import('ws');
  const server = createHeraldServer({ logger: silentLogger, deltaNamespaces: ['dash'], historySize: 10 });
  const port = await server.listen(0, '127.0.0.1');
  const subscribers = Number(values.subscribers);
  const published = Number(values.published);
  let bytes = 0;
  let frames = 0;
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  const sockets = await Promise.all(
    Array.from({ length: subscribers }, async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      await new Promise((resolve) => ws.once('open', resolve));
      ws.send(JSON.stringify({ id: 1, type: 'subscribe', channel: 'dash:bench', ...(delta && { delta: true }) }));
      await new Promise((resolve) => ws.once('message', resolve));
      ws.on('message', (data) => {
        bytes += data.length;
        if (++frames === subscribers * published) done();
      });
      return ws;
    }),
  );
  const rand = random(5);
  let state = dashboard(rand);
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < published; i++) {
    state = tick(state, rand);
    await server.hub.publish('dash:bench', state);
    // One update per event-loop turn or so, as a dashboard feed would (not a burst).
    if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
  }
  await finished;
  const used = process.cpuUsage(cpu);
  const wall = performance.now() - started;
  for (const ws of sockets) ws.close();
  await server.close();
  const deliveries = subscribers * published;
  return { bytes: bytes / deliveries, cpu: (used.user + used.system) / deliveries, wall };
}

console.log(`\nhub end to end: ${values.subscribers} WebSocket subscribers, ${values.published} dashboard updates\n`);
console.log('| deltas | bytes/delivery | process CPU µs/delivery | wall ms |');
console.log('|---|---:|---:|---:|');
for (const delta of [false, true, false, true]) {
  const r = await endToEnd(delta);
  console.log(`| ${delta ? 'on' : 'off'} | ${r.bytes.toFixed(0)} | ${r.cpu.toFixed(2)} | ${r.wall.toFixed(0)} |`);
}
