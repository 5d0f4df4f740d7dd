#!/usr/bin/env node
// Fan-out over the Pusher protocol against Herald's own WebSocket protocol, on the same hub build:
// one hub process (createHeraldServer with one Pusher app), one subscriber process with N raw `ws`
// connections speaking one protocol, and this process publishing over HTTP. Rows:
//
//   herald-ws   ← Herald API      Herald's protocol on /ws, publishes by POST /api/publish
//   pusher-ws   ← Herald API      Pusher protocol 7 on /app/{key}, the same publishes
//   pusher-ws   ← Pusher HTTP API  the same subscribers, publishes by signed POST /apps/{id}/events
//
// Every row delivers the same Herald message (data {"event":"tick","data":{t, seq, pad}}) on the
// same channel (Pusher `fanout` of app `bench` is Herald `bench:fanout`).
//
//   npm run build && npm run bench:pusher [-- --subscribers 500,2000 --runs 3]
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { nowUs } from './lib/clock.mjs';
import { BackgroundCpu } from './lib/cpu.mjs';
import { Histogram } from './lib/histogram.mjs';
import { ChildProcess } from './lib/ipc.mjs';
import { ProgressReceiver } from './lib/progress.mjs';

const HELP = `Usage: npm run bench:pusher -- [options]      (or: node bench/pusher.mjs [options])

Fan-out over the Pusher protocol (pusher-js's wire protocol, /app/{key}) against Herald's own
WebSocket protocol (/ws), on one hub build: N subscribers of one channel in a separate process
(raw ws clients), ~150-byte messages published over HTTP from this process, through Herald's API
(POST /api/publish) and, for a second Pusher row, through the Pusher HTTP API (signed POST
/apps/{id}/events). Per row: delivered messages/s at the highest rate the hub sustains,
publish→receive latency (p50/p95/p99) at a fixed load, WebSocket payload bytes per delivered
message, hub CPU and RSS per connection. Medians of the runs. Needs a build first (npm run build)
and the Pusher WebSocket door in it.

Options:
  --subscribers LIST     subscriber counts                              (default 500,2000)
  --runs N               repetitions; medians are reported              (default 3)
  --duration S           seconds of the throughput phase                (default 2.5)
  --latency-duration S   seconds of the fixed-load latency phase        (default 1.5)
  --latency-load N       deliveries/s in the latency phase (publish rate N / subscribers)
                                                                        (default 10000)
  --window N             throughput phase: at most N messages per subscriber published but not
                         yet received                                   (default 32)
  --concurrency N        HTTP publishes in flight in the throughput phase (default 16)
  --sample N             connections that record latency (spread evenly) (default 200)
  --out DIR              where the text results go                      (default bench/results)
  --help                 this text

Default runtime: under 3 minutes on 2 cores.
`;

let values;
try {
  ({ values } = parseArgs({
    options: {
      subscribers: { type: 'string', default: '500,2000' },
      runs: { type: 'string', default: '3' },
      duration: { type: 'string', default: '2.5' },
      'latency-duration': { type: 'string', default: '1.5' },
      'latency-load': { type: 'string', default: '10000' },
      window: { type: 'string', default: '32' },
      concurrency: { type: 'string', default: '16' },
      sample: { type: 'string', default: '200' },
      out: { type: 'string', default: 'bench/results' },
      help: { type: 'boolean', default: false },
    },
  }));
} catch (error) {
  console.error(`${error.message}\n\n${HELP}`);
  process.exit(2);
}
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
function number(name, { min = 1, integer = true } = {}) {
  const value = Number(values[name]);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    console.error(`--${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}\n\n${HELP}`);
    process.exit(2);
  }
  return value;
}
const subscriberCounts = values.subscribers.split(',').map((s) => Number(s.trim()));
if (subscriberCounts.some((n) => !Number.isInteger(n) || n < 1)) {
  console.error(`--subscribers must be positive integers\n\n${HELP}`);
  process.exit(2);
}
const options = {
  runs: number('runs'),
  durationMs: number('duration', { min: 0.5, integer: false }) * 1000,
  latencyDurationMs: number('latency-duration', { min: 0.5, integer: false }) * 1000,
  latencyLoad: number('latency-load'),
  window: number('window'),
  concurrency: number('concurrency'),
  sample: number('sample'),
};

const HUB = fileURLToPath(new URL('./lib/pusher-hub.mjs', import.meta.url));
const SUBSCRIBERS = fileURLToPath(new URL('./lib/pusher-subscribers.mjs', import.meta.url));
const APP = { id: 'bench', key: 'bench-key', secret: randomBytes(24).toString('hex') };
const PUSHER_CHANNEL = 'fanout';
const HERALD_CHANNEL = `${APP.id}:${PUSHER_CHANNEL}`;
const PAD = 'x'.repeat(64);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (xs) => {
  const sorted = xs.filter((x) => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  return sorted.length === 0 ? null : sorted[Math.floor(sorted.length / 2)];
};

const ROWS = [
  { name: 'herald-ws ← Herald API', protocol: 'herald', publisher: 'herald' },
  { name: 'pusher-ws ← Herald API', protocol: 'pusher', publisher: 'herald' },
  { name: 'pusher-ws ← Pusher HTTP API', protocol: 'pusher', publisher: 'pusher' },
];

/** An HTTP publisher of one kind, on keep-alive connections. */
function publisher(kind, port) {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const post = (path, body) =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path,
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${path.split('?')[0]} answered ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const send =
    kind === 'herald'
      ? (seq) =>
          post('/api/publish', JSON.stringify({ channel: HERALD_CHANNEL, data: { event: 'tick', data: { t: nowUs(), seq, pad: PAD } } }))
      : (seq) => {
          const body = JSON.stringify({ name: 'tick', channels: [PUSHER_CHANNEL], data: JSON.stringify({ t: nowUs(), seq, pad: PAD }) });
          // Pusher's request signature: the sorted query, signed with the app secret.
          const query =
            `auth_key=${APP.key}&auth_timestamp=${Math.floor(Date.now() / 1000)}&auth_version=1.0` +
            `&body_md5=${createHash('md5').update(body).digest('hex')}`;
          const path = `/apps/${APP.id}/events`;
          const signature = createHmac('sha256', APP.secret).update(`POST\n${path}\n${query}`).digest('hex');
          return post(`${path}?${query}&auth_signature=${signature}`, body);
        };
  return { send, close: () => agent.destroy() };
}

/**
 * Publishes for `durationMs`: at `rate` messages/s (a 1 ms timer), or as fast as the hub sustains
 * (`max`: at most `concurrency` requests in flight and `window` messages per subscriber not yet
 * received). Resolves once every request is answered.
 */
function publish({ send, mode, rate, durationMs, subscribers, progress }) {
  return new Promise((resolve, reject) => {
    let seq = 0;
    let inflight = 0;
    let failed;
    const startUs = nowUs();
    const endUs = startUs + durationMs * 1000;
    const one = () => {
      inflight++;
      send(seq++).then(
        () => {
          inflight--;
          if (mode === 'max') setImmediate(tick);
          if (nowUs() >= endUs && inflight === 0) done();
        },
        (error) => {
          inflight--;
          failed ??= error;
          setImmediate(tick);
        },
      );
    };
    const done = () => (failed ? reject(failed) : resolve({ published: seq, firstUs: startUs }));
    let timer;
    const tick = () => {
      const now = nowUs();
      if (failed) return reject(failed);
      if (now >= endUs) {
        clearTimeout(timer);
        if (inflight === 0) done();
        return;
      }
      if (mode === 'rate') {
        const due = Math.floor((rate * (now - startUs)) / 1e6) + 1 - seq;
        for (let i = 0; i < due; i++) one();
        timer = setTimeout(tick, 1);
      } else {
        while (inflight < options.concurrency && seq - progress.received / subscribers < options.window) one();
        if (inflight === 0) timer = setTimeout(tick, 1);
      }
    };
    tick();
  });
}

/** Waits until the subscribers have `expected` messages or their count stood still for a second. */
async function drain(subscribers, expected) {
  let last = -1;
  let stillSince = Date.now();
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const { received } = await subscribers.request('progress');
    if (received >= expected) return;
    if (received !== last) {
      last = received;
      stillSince = Date.now();
    } else if (Date.now() - stillSince > 1000) return;
    await sleep(50);
  }
}

let phases = 0;

/** One publish phase: what the subscribers received, its latency, the hub's CPU over it. */
async function phase({ hub, subscribers, pub, progress, n, mode, rate, durationMs }) {
  const id = ++phases;
  progress.begin(id);
  await subscribers.request('reset', { phase: id });
  const background = new BackgroundCpu([process.pid, hub.pid, subscribers.pid]);
  background.start();
  const cpuBefore = await hub.request('cpu');
  const wallBefore = performance.now();
  const published = await publish({ send: pub.send, mode, rate, durationMs, subscribers: n, progress });
  const expected = published.published * n;
  await drain(subscribers, expected);
  const backgroundCores = background.stop();
  const cpuUs = (await hub.request('cpu')) - cpuBefore;
  const wallUs = (performance.now() - wallBefore) * 1000;
  const report = await subscribers.request('report');
  const histogram = new Histogram(report.histogram);
  const q = (p) => (histogram.total === 0 ? null : histogram.quantile(p) / 1000);
  return {
    published: published.published,
    expected,
    received: report.received,
    lost: expected - report.received,
    deliveredPerSec: (report.received / Math.max(1, report.lastUs - published.firstUs)) * 1e6,
    p50Ms: q(0.5),
    p95Ms: q(0.95),
    p99Ms: q(0.99),
    bytesPerMessage: report.received === 0 ? null : report.bytes / report.received,
    serverCores: cpuUs / wallUs,
    serverUsPerMessage: report.received === 0 ? null : cpuUs / report.received,
    backgroundCores,
  };
}

/** One hub and N subscribers of one protocol; every row of that protocol measured on them. */
async function measureGroup(protocol, n, run, log) {
  const hub = new ChildProcess(HUB, [], ['--expose-gc']);
  const subscribers = new ChildProcess(SUBSCRIBERS);
  const results = [];
  try {
    const { port } = await hub.request('start', { app: APP, historySize: 1000 });
    await sleep(200);
    const rssBefore = await hub.request('rss');
    const t0 = Date.now();
    const connected = await subscribers.request(
      'connect',
      {
        protocol,
        port,
        key: APP.key,
        channel: protocol === 'pusher' ? PUSHER_CHANNEL : HERALD_CHANNEL,
        count: n,
        sampleEvery: Math.max(1, Math.floor(n / options.sample)),
        progressPort,
      },
      120_000,
    );
    if (connected.failed > 0) throw new Error(`${connected.failed} of ${n} ${protocol} subscribers failed: ${connected.lastError}`);
    const counted = protocol === 'pusher' ? 'pusher' : 'websocket';
    for (let i = 0; (await hub.request('stats'))[counted] < n; i++) {
      if (i > 3000) throw new Error(`the hub never counted ${n} ${counted} connections`);
      await sleep(10);
    }
    const connectSec = (Date.now() - t0) / 1000;
    await sleep(300);
    const rssAfter = await hub.request('rss');
    const rssPerConnKB = (rssAfter - rssBefore) / n / 1024;
    log(
      `${protocol}: ${n} subscribed in ${connectSec.toFixed(1)} s, RSS ${(rssAfter / 2 ** 20).toFixed(0)} MB (${rssPerConnKB.toFixed(1)} KB/conn)`,
    );
    for (const row of ROWS.filter((r) => r.protocol === protocol)) {
      const pub = publisher(row.publisher, port);
      try {
        // Each row's failure is its own: the other rows of this hub are still measured.
        const common = { hub, subscribers, pub, progress, n };
        const latency = await phase({ ...common, mode: 'rate', rate: options.latencyLoad / n, durationMs: options.latencyDurationMs });
        const throughput = await phase({ ...common, mode: 'max', durationMs: options.durationMs });
        log(
          `${row.name}: ${Math.round(throughput.deliveredPerSec).toLocaleString('en-US')} msg/s, ` +
            `latency p50 ${fmt(latency.p50Ms)} p95 ${fmt(latency.p95Ms)} p99 ${fmt(latency.p99Ms)} ms, ` +
            `${fmt(throughput.bytesPerMessage)} B/msg, hub ${Math.round(throughput.serverCores * 100)} % CPU = ${fmt(throughput.serverUsPerMessage)} µs/msg, ` +
            `lost ${latency.lost + throughput.lost}, others ${fmt(Math.max(latency.backgroundCores ?? 0, throughput.backgroundCores ?? 0))} cores`,
        );
        results.push({ row: row.name, n, run, connectSec, rssPerConnKB, rssMB: rssAfter / 2 ** 20, latency, throughput });
      } catch (error) {
        log(`${row.name}: FAILED: ${error.message}`);
        errors.push({ n, run, row: row.name, error: error.message });
      } finally {
        pub.close();
      }
    }
  } finally {
    await Promise.all([hub.stop(), subscribers.stop()]);
  }
  return results;
}

function fmt(value) {
  if (value === null || value === undefined) return '-';
  return value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : Math.round(value).toLocaleString('en-US');
}

function table(results) {
  const header = [
    'subscribers',
    'row',
    'delivered msg/s',
    'vs herald-ws',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'bytes/msg',
    'hub CPU',
    'hub µs/msg',
    'vs herald-ws',
    'RSS KB/conn',
    'lost',
  ];
  const lines = [header];
  for (const n of subscriberCounts) {
    let base;
    for (const row of ROWS) {
      const runs = results.filter((r) => r.n === n && r.row === row.name);
      if (runs.length === 0) continue;
      const m = (f) => median(runs.map(f));
      const rate = m((r) => r.throughput.deliveredPerSec);
      const us = m((r) => r.throughput.serverUsPerMessage);
      if (row.name.startsWith('herald-ws')) base = { rate, us };
      lines.push([
        n.toLocaleString('en-US'),
        row.name,
        Math.round(rate).toLocaleString('en-US'),
        base ? (rate / base.rate).toFixed(2) : '-',
        fmt(m((r) => r.latency.p50Ms)),
        fmt(m((r) => r.latency.p95Ms)),
        fmt(m((r) => r.latency.p99Ms)),
        fmt(m((r) => r.throughput.bytesPerMessage)),
        `${Math.round(m((r) => r.throughput.serverCores) * 100)} %`,
        fmt(us),
        base ? (us / base.us).toFixed(2) : '-',
        fmt(m((r) => r.rssPerConnKB)),
        String(runs.reduce((sum, r) => sum + r.latency.lost + r.throughput.lost, 0)),
      ]);
    }
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  const row = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [row(lines[0]), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...lines.slice(1).map(row)].join('\n');
}

function commit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
}

process.once('SIGINT', () => process.exit(130));
// One receiver for the whole run: each phase counts from zero (begin).
const progress = new ProgressReceiver();
const progressPort = await progress.listen();
const started = Date.now();
const steps = [];
for (let run = 1; run <= options.runs; run++)
  for (const n of subscriberCounts) for (const protocol of ['herald', 'pusher']) steps.push({ run, n, protocol });
const results = [];
/** Failed measurements: a whole hub (`protocol`) or one row. */
const errors = [];
for (const [i, step] of steps.entries()) {
  const log = (text) => console.log(`[${i + 1}/${steps.length}] n=${step.n} run ${step.run}: ${text}`);
  try {
    results.push(...(await measureGroup(step.protocol, step.n, step.run, log)));
  } catch (error) {
    log(`FAILED: ${error.message}`);
    errors.push({ ...step, error: error.message });
  }
}
const elapsedSec = (Date.now() - started) / 1000;
const heading =
  `bench/pusher.mjs ${process.argv.slice(2).join(' ')}`.trim() +
  `\n${new Date().toISOString()}, commit ${commit()}, node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}` +
  `\nmedians of ${options.runs} run(s); latency at ${options.latencyLoad.toLocaleString('en-US')} deliveries/s for ${options.latencyDurationMs / 1000} s; ` +
  `throughput over ${options.durationMs / 1000} s (window ${options.window} per subscriber, ${options.concurrency} HTTP publishes in flight); ` +
  `bytes/msg = WebSocket payload bytes per delivered message; hub CPU and µs/msg over the throughput phase; ${elapsedSec.toFixed(0)} s`;
const text = `${heading}\n\n${table(results)}\n${errors.length > 0 ? `\n${errors.length} measurement(s) failed:\n${errors.map((e) => `  n=${e.n} run ${e.run} ${e.row ?? e.protocol}: ${e.error}`).join('\n')}\n` : ''}`;
console.log(`\n${text}`);
mkdirSync(values.out, { recursive: true });
const file = join(
  values.out,
  `pusher-${new Date()
    .toISOString()
    .replace(/[:.]/g, '-')
    .replace(/-\d+Z$/, 'Z')}.txt`,
);
writeFileSync(file, text);
console.log(`Results: ${file}`);
// The progress socket would hold the process open.
process.exit(errors.length > 0 ? 1 : 0);
