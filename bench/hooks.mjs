#!/usr/bin/env node
// What the app's hooks cost: the latency a `subscribe` hook adds to a subscribe (one WebSocket,
// subscribe → reply → unsubscribe, one after another, against the same hub without the hook, runs
// alternated), and webhook throughput (client publishes → `client_publish` events stored in the
// engine's queue → delivered in signed batches to the app; events per second from the first
// publish to the last event received, per engine). The app runs in a process of its own and
// answers at once, so the figures are the hub's own cost.
//
//   npm run build && node bench/hooks.mjs [--subscribes 2000] [--events 20000] [--runs 3] [--engine memory,sqlite,redis]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { createClient } from '@redis/client';
import { RedisBroker, RedisPresenceStore, RedisWebhookQueue } from '@herald/redis';
import { createHeraldServer } from '@herald/server';
import { createSqliteEngine } from '@herald/sqlite';
import { ChildProcess } from './lib/ipc.mjs';

const { values } = parseArgs({
  options: {
    subscribes: { type: 'string', default: '2000' },
    events: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '3' },
    engine: { type: 'string', default: 'memory,sqlite,redis' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log('usage: node bench/hooks.mjs [--subscribes N] [--events N] [--runs N] [--engine memory,sqlite,redis]');
  process.exit(0);
}
const subscribes = Number(values.subscribes);
const events = Number(values.events);
const runs = Number(values.runs);
for (const [name, v] of [
  ['--subscribes', subscribes],
  ['--events', events],
  ['--runs', runs],
])
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be an integer ≥ 1`);
const engines = values.engine.split(',');
for (const e of engines) if (!['memory', 'sqlite', 'redis'].includes(e)) throw new RangeError('--engine lists memory, sqlite, redis');

const REDIS_URL = process.env.HERALD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRET = randomBytes(24).toString('base64url');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];

const app = new ChildProcess(new URL('./lib/hook-app.mjs', import.meta.url).pathname);
const { port: appPort } = await app.request('listen');
const appUrl = `http://127.0.0.1:${appPort}`;

async function open(url) {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/** `count` subscribe → reply round trips (each followed by an unsubscribe), in ms each. */
async function roundTrips(url, count) {
  const socket = await open(url);
  const waiting = new Map();
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    if (frame.type === 'reply') waiting.get(frame.id)?.(frame);
  });
  const ask = (command) =>
    new Promise((resolve, reject) => {
      waiting.set(command.id, (frame) => {
        waiting.delete(command.id);
        if (frame.error !== undefined) reject(new Error(`${command.type}: ${frame.error.message}`));
        else resolve(frame);
      });
      socket.send(JSON.stringify(command));
    });
  const times = [];
  let id = 1;
  for (let i = 0; i < count; i++) {
    const channel = `bench:${i % 50}`;
    const start = performance.now();
    await ask({ type: 'subscribe', id: id++, channel });
    times.push(performance.now() - start);
    await ask({ type: 'unsubscribe', id: id++, channel });
  }
  socket.close();
  return times;
}

async function subscribeLatency() {
  const plain = createHeraldServer({ commandsPerSecond: 1e6, commandBurst: 1e6 });
  const hooked = createHeraldServer({
    commandsPerSecond: 1e6,
    commandBurst: 1e6,
    hooks: { secrets: [SECRET], subscribe: `${appUrl}/subscribe` },
  });
  const [plainPort, hookedPort] = await Promise.all([plain.listen(0, '127.0.0.1'), hooked.listen(0, '127.0.0.1')]);
  const results = { plain: [], hooked: [] };
  try {
    await roundTrips(`ws://127.0.0.1:${plainPort}/ws`, 200);
    await roundTrips(`ws://127.0.0.1:${hookedPort}/ws`, 200);
    for (let run = 0; run < runs; run++) {
      process.stderr.write(`\rsubscribe latency: run ${run + 1}/${runs}  `);
      const a = await roundTrips(`ws://127.0.0.1:${plainPort}/ws`, subscribes);
      const b = await roundTrips(`ws://127.0.0.1:${hookedPort}/ws`, subscribes);
      results.plain.push({ p50: median(a), p95: quantile(a, 0.95) });
      results.hooked.push({ p50: median(b), p95: quantile(b, 0.95) });
    }
    process.stderr.write('\n');
  } finally {
    await Promise.all([plain.close(), hooked.close()]);
  }
  const p50 = (list) => median(list.map((r) => r.p50));
  const p95 = (list) => median(list.map((r) => r.p95));
  console.log(
    `subscribe round trip over WebSocket, ${subscribes} per run, median of ${runs} runs: ` +
      `without hook p50 ${p50(results.plain).toFixed(3)} ms (p95 ${p95(results.plain).toFixed(3)}), ` +
      `with a subscribe hook p50 ${p50(results.hooked).toFixed(3)} ms (p95 ${p95(results.hooked).toFixed(3)}); ` +
      `added by the hook: ${(p50(results.hooked) - p50(results.plain)).toFixed(3)} ms at the median`,
  );
  return { plain: results.plain, hooked: results.hooked };
}

/** The engine's parts for a hub with a durable webhook queue; `cleanup` removes what the run stored. */
async function engineParts(engine) {
  if (engine === 'memory') return { parts: {}, cleanup: async () => {} };
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'herald-bench-hooks-'));
    const { broker, presence, webhookQueue } = createSqliteEngine({ path: join(dir, 'hub.db') });
    return { parts: { broker, presence, webhookQueue }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const prefix = `herald-bench:${randomBytes(6).toString('hex')}:`;
  const common = { url: REDIS_URL, prefix };
  const broker = await RedisBroker.connect(common);
  const presence = await RedisPresenceStore.connect(common);
  const webhookQueue = await RedisWebhookQueue.connect(common);
  const cleanup = async () => {
    const client = createClient({ url: REDIS_URL });
    await client.connect();
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length > 0) await client.del(keys);
    client.destroy();
  };
  return { parts: { broker, presence, webhookQueue }, cleanup };
}

/**
 * One run: `events` client publishes over a WebSocket (200 in flight), each a `client_publish` event
 * the app receives: live (the app answers all along) or as a backlog (the app answers 503 until
 * every publish is stored, then the queue drains; retries are 10 ms apart so the drain is measured,
 * not the backoff).
 */
async function webhookRun(engine, backlog) {
  const { parts, cleanup } = await engineParts(engine);
  const hub = createHeraldServer({
    ...parts,
    commandsPerSecond: 1e6,
    commandBurst: 1e6,
    webhooks: {
      url: `${appUrl}/webhooks`,
      secrets: [SECRET],
      events: ['client_publish'],
      maxQueued: events * 2,
      ...(backlog && { retryBase: 10, retryMax: 10, maxAttempts: 1000 }),
    },
  });
  const port = await hub.listen(0, '127.0.0.1');
  await app.request('reset');
  if (backlog) await app.request('pause');
  try {
    const socket = await open(`ws://127.0.0.1:${port}/ws`);
    let acked = 0;
    let sent = 0;
    const start = Date.now();
    const published = new Promise((resolve, reject) => {
      const send = () => {
        const id = ++sent;
        socket.send(JSON.stringify({ type: 'publish', id, channel: `bench:${id % 20}`, data: { i: id, text: 'an event of a bench run' } }));
      };
      socket.on('message', (data) => {
        const frame = JSON.parse(data.toString());
        if (frame.type !== 'reply') return;
        if (frame.error !== undefined) return reject(new Error(`publish: ${frame.error.message}`));
        acked++;
        if (acked === events) resolve(Date.now());
        else if (sent < events) send();
      });
      for (let i = 0; i < Math.min(200, events); i++) send();
    });
    const publishedAt = await published;
    const from = backlog ? (await app.request('resume')).at : start;
    let received = await app.request('events');
    const deadline = Date.now() + 120_000;
    while (received.distinct < events && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      received = await app.request('events');
    }
    socket.close();
    if (received.distinct < events) throw new Error(`${engine}: only ${received.distinct} of ${events} events arrived within 120 s`);
    return {
      publishPerSecond: (events / (publishedAt - start)) * 1000,
      deliveredPerSecond: (events / (received.last - from)) * 1000,
      repeats: received.repeats,
      batches: received.batches,
    };
  } finally {
    await hub.close();
    await cleanup();
  }
}

async function webhookThroughput() {
  for (const engine of engines) {
    for (const backlog of [false, true]) {
      const results = [];
      for (let run = 0; run < runs; run++) {
        process.stderr.write(`\rwebhooks on ${engine}${backlog ? ', backlog' : ''}: run ${run + 1}/${runs}  `);
        results.push(await webhookRun(engine, backlog));
      }
      process.stderr.write('\n');
      const m = (key) => Math.round(median(results.map((r) => r[key])));
      const how = backlog
        ? 'a backlog drained (from the app coming back to the last event received)'
        : 'live (from the first publish to the last event received)';
      console.log(
        `webhooks on ${engine}, ${events} client_publish events per run, median of ${runs} runs: ` +
          `${m('deliveredPerSecond')} events/s delivered, ${how}; ` +
          `client publishes ${m('publishPerSecond')}/s, ${m('batches')} requests, ${results.reduce((a, r) => a + r.repeats, 0)} events repeated`,
      );
    }
  }
}

console.log(`node ${process.version}, ${new Date().toISOString()}`);
try {
  await subscribeLatency();
  await webhookThroughput();
} finally {
  await app.stop();
}
