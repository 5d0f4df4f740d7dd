#!/usr/bin/env node
// The SDK's features the docs give timings for, measured against a real hub on 127.0.0.1:
//
// - outbox: N publishes started at once by one Node client over WebSocket, until the last one is
//   answered, with the outbox (`@herald/client/outbox`, memory store: one publish in flight at a
//   time) and without (every publish sent at once). docs/client.md, offline outbox.
// - share: `createClient({ share: true })` in N tabs of Debian's Chromium (playwright-core); the
//   tab holding the connection closes and a message is published at once: the time from the close
//   until every other tab has that message (a new leader connected, each tab resumed). docs/client.md,
//   one connection for every tab.
//
//   npm run build && npm run bench:client-features [-- --features outbox,share --runs 3]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createHeraldServer, silentLogger } from '@herald/server';
import { createClient } from '@herald/client/node';
import { outbox } from '@herald/client/outbox';
import { median } from './lib/report.mjs';

const HELP = `Usage: npm run bench:client-features -- [options]   (or: node bench/client-features.mjs [options])

Timings of SDK features on 127.0.0.1 (medians of the runs; needs npm run build):
  outbox   N publishes started at once over WebSocket until the last is answered, with the
           outbox (one in flight at a time) and without
  share    share: true in N Chromium tabs: from closing the leader's tab to every other tab
           having the message published right after (needs /usr/bin/chromium)

Options:
  --features LIST     outbox,share                        (default both)
  --publishes N       outbox: publishes per run            (default 1000, the outbox's default maxItems;
                      above it the bench raises maxItems and maxBytes to fit)
  --tabs N            share: tabs of one origin            (default 3)
  --runs N            repetitions; medians are reported    (default 3)
  --out DIR           where the JSON results go            (default bench/results)
  --help              this text
`;

const { values: args } = parseArgs({
  options: {
    features: { type: 'string', default: 'outbox,share' },
    publishes: { type: 'string', default: '1000' },
    tabs: { type: 'string', default: '3' },
    runs: { type: 'string', default: '3' },
    out: { type: 'string', default: fileURLToPath(new URL('./results', import.meta.url)) },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const whole = (name, min) => {
  const n = Number(args[name]);
  if (!Number.isSafeInteger(n) || n < min) {
    process.stderr.write(`--${name} must be a whole number ≥ ${min}\n\n${HELP}`);
    process.exit(2);
  }
  return n;
};
const features = args.features.split(',').filter(Boolean);
for (const feature of features) {
  if (feature !== 'outbox' && feature !== 'share') {
    process.stderr.write(`unknown feature ${feature} (outbox, share)\n`);
    process.exit(2);
  }
}
const publishes = whole('publishes', 1);
const tabs = whole('tabs', 2);
const runs = whole('runs', 1);

const ms = (x) => `${x.toFixed(0)} ms`;

/** One run of the outbox burst: ms until `publishes` publishes of one client are all answered. */
async function outboxBurst(url, withOutbox, run) {
  // Past the outbox's default limits (1000 items, 1 MiB) the burst would be refused as a full
  // outbox, not measured: the limits are raised to fit it (each publish's JSON is a few bytes).
  const limits = publishes > 1000 ? { maxItems: publishes, maxBytes: Math.max(1_048_576, publishes * 256) } : {};
  const client = createClient({
    url,
    transports: ['websocket'],
    ...(withOutbox && { outbox: outbox({ store: 'memory', ...limits }) }),
  });
  try {
    const channel = `burst:${withOutbox ? 'outbox' : 'direct'}-${run}`;
    // Connected and warm (one publish answered) before the clock starts.
    await client.publish(channel, 0);
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: publishes }, (_, i) => client.publish(channel, i + 1)));
    const elapsed = performance.now() - started;
    // Each stored once, after the warm-up message: offsets 2 … publishes + 1.
    const offsets = new Set(answers.map((answer) => answer.offset));
    if (offsets.size !== publishes || Math.max(...offsets) !== publishes + 1) throw new Error('the publishes were not each stored once');
    return elapsed;
  } finally {
    client.close();
  }
}

async function measureOutbox() {
  // The per-session command rate limit (100/s, burst 200) would pace the burst: lifted, so the
  // figure is the outbox's own cost (one round trip per publish), not the limit's.
  const server = createHeraldServer({
    logger: silentLogger,
    commandsPerSecond: 1_000_000,
    commandBurst: 1_000_000,
    historySize: publishes + 1,
  });
  const port = await server.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${port}`;
  const times = { outbox: [], direct: [] };
  try {
    for (let run = 1; run <= runs; run++) {
      // Alternating, so a busy moment of the machine weighs on both.
      for (const withOutbox of [true, false]) {
        const elapsed = await outboxBurst(url, withOutbox, run);
        times[withOutbox ? 'outbox' : 'direct'].push(elapsed);
        process.stderr.write(`run ${run}/${runs} outbox ${withOutbox ? 'on' : 'off'}: ${publishes} publishes in ${ms(elapsed)}\n`);
      }
    }
  } finally {
    await server.close();
  }
  return {
    feature: 'outbox',
    publishes,
    outboxMs: median(times.outbox),
    directMs: median(times.direct),
    runs: times,
  };
}

/** The page each tab loads: a shared client subscribed to `channel`, arrival times on `window.bench`. */
const harness = (channel) => `
  import { createClient } from '/sdk/herald-client.js';
  const client = createClient({ url: location.origin, share: true, timeout: 10000 });
  window.bench = { arrived: {}, subscribed: false };
  const sub = client.subscribe(${JSON.stringify(channel)}, (m) => { window.bench.arrived[m.data] = Date.now(); });
  sub.on('state', (s) => { if (s === 'subscribed') window.bench.subscribed = true; });
  if (sub.state === 'subscribed') window.bench.subscribed = true;
`;

/** One run of the share takeover: ms from closing the leader's tab to the last tab's arrival. */
async function shareTakeover(browser, hub, run) {
  const context = await browser.newContext();
  try {
    const channel = `share-bench-${run}`;
    const pages = [];
    const sockets = new Map();
    for (let i = 0; i < tabs; i++) {
      const page = await context.newPage();
      sockets.set(page, 0);
      page.on('websocket', () => sockets.set(page, sockets.get(page) + 1));
      await page.goto(`${hub.url}/healthz`);
      await page.addScriptTag({ type: 'module', content: harness(channel) });
      await page.waitForFunction('window.bench?.subscribed === true', undefined, { timeout: 20_000 });
      pages.push(page);
    }
    await hub.server.hub.publish(channel, 'first');
    for (const page of pages) await page.waitForFunction(`window.bench.arrived.first !== undefined`, undefined, { timeout: 20_000 });
    const leaders = pages.filter((page) => sockets.get(page) > 0);
    if (leaders.length !== 1) throw new Error(`${leaders.length} tabs opened a WebSocket, not one`);
    const followers = pages.filter((page) => page !== leaders[0]);
    const closed = Date.now();
    await leaders[0].close();
    // Published with no leader connected: every tab gets it from the hub's history on its resume.
    await hub.server.hub.publish(channel, 'after');
    let last = 0;
    for (const page of followers) {
      await page.waitForFunction(`window.bench.arrived.after !== undefined`, undefined, { timeout: 20_000, polling: 10 });
      last = Math.max(last, await page.evaluate('window.bench.arrived.after'));
    }
    return last - closed;
  } finally {
    await context.close();
  }
}

async function measureShare() {
  const { chromium } = await import('playwright-core');
  const { startHub } = await import('../packages/herald/dist/start.js');
  const { configSchema } = await import('../packages/herald/dist/config.js');
  const hub = await startHub(configSchema.parse({ port: 0, host: '127.0.0.1', historySize: 1000, historyTtl: 0 }), 'dev', silentLogger, {
    demos: false,
  });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
  const times = [];
  try {
    for (let run = 1; run <= runs; run++) {
      const elapsed = await shareTakeover(browser, hub, run);
      times.push(elapsed);
      process.stderr.write(
        `run ${run}/${runs} share, ${tabs} tabs: the others had the next message ${ms(elapsed)} after the leader's tab closed\n`,
      );
    }
  } finally {
    await browser.close();
    await hub.server.close();
  }
  return { feature: 'share', tabs, takeoverMs: median(times), runs: times };
}

const results = [];
if (features.includes('outbox')) results.push(await measureOutbox());
if (features.includes('share')) results.push(await measureShare());

process.stdout.write(`\nnode ${process.version}, 127.0.0.1, medians of ${runs} runs\n\n`);
for (const r of results) {
  if (r.feature === 'outbox')
    process.stdout.write(
      `outbox: ${r.publishes} publishes at once over WebSocket, all answered in ${ms(r.outboxMs)} with the outbox ` +
        `(runs ${r.runs.outbox.map(ms).join(', ')}), ${ms(r.directMs)} without (runs ${r.runs.direct.map(ms).join(', ')})\n`,
    );
  else
    process.stdout.write(
      `share: ${r.tabs} Chromium tabs, the other tabs had the next message ${ms(r.takeoverMs)} after the leader's tab closed ` +
        `(runs ${r.runs.map(ms).join(', ')})\n`,
    );
}

mkdirSync(args.out, { recursive: true });
const file = join(args.out, `client-features-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify({ node: process.version, runs, results }, null, 2));
process.stdout.write(`\nresults: ${file}\n`);
