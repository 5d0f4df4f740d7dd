#!/usr/bin/env node
// Bytes on the wire per delivered message, hub CPU per delivery and memory per connection, for each
// wire format Herald speaks: the default JSON envelope, the compact envelope, MessagePack,
// permessage-deflate (shared, or with context takeover), gzip on SSE and polling, and deltas. One hub
// process per set of compression settings (bench/wire-server.mjs), subscribers in this process
// counting the bytes their sockets read (TCP payload: frames, HTTP heads and chunking included).
// With --delta-encodings, also the delta encoding the hub uses (Fossil) against RFC 6902 JSON Patch
// on the same payloads, without a hub.
//
//   npm run build && npm run bench:wire [-- --subscribers 200 --messages 200 --runs 3]
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createGunzip, createBrotliDecompress } from 'node:zlib';
import WebSocket from 'ws';
import { ChildProcess } from './lib/ipc.mjs';
import { median } from './lib/report.mjs';
import { compareDeltaEncodings } from './lib/wire-delta-encodings.mjs';
import { DEFAULT_PAYLOADS, PAYLOADS } from './lib/wire-payloads.mjs';
import { DEFAULT_VARIANTS, hubKey, variantFor } from './lib/wire-variants.mjs';

const HELP = `Usage: npm run bench:wire -- [options]      (or: node bench/wire.mjs [options])

Per wire format (variant) and payload: bytes each subscriber's socket read per delivered message
(everything on the wire: frames, HTTP heads, chunk sizes), the hub's CPU per delivery and its
delivered messages/s, and the hub's RSS per connection. Subscribers run in this process, the hub in
a child process (one per set of compression settings: the -t0 and takeover variants each get their
own). Medians of the runs. Needs a build first (npm run build).

Options:
  --variants LIST     ${DEFAULT_VARIANTS.join(',')}
                      (default all), and any ws-takeover-w<9–15>[-m<1–9>]: context takeover with
                      that compression.windowBits (and memLevel)
  --payloads LIST     ${PAYLOADS.join(',')}  (default ${DEFAULT_PAYLOADS.join(',')}; small ≈ 100 B JSON,
                      dashboard ≈ 4.9 KB JSON with about one region in eight changed per
                      message, tile ≈ 1.1 KB JSON whose 20 values all move a little)
  --subscribers N     subscribers per variant                     (default 200)
  --messages N        messages measured per run                   (default 200)
  --memory N          connections for the memory-per-connection reading (0: skip) (default 1000)
  --memory-variants LIST  the variants whose memory per connection is read, each in a hub
                      process of its own
                      (default ws-json,ws-deflate,ws-compact-deflate,sse-json,sse-gzip)
  --interval MS       pause between two publishes (0: as fast as the hub stores them;
                      polls then read batches, where deltas rarely apply)   (default 10)
  --runs N            repetitions; medians are reported           (default 3)
  --delta-encodings   also compare Fossil deltas (what the hub sends) with RFC 6902 JSON Patch
                      on --messages consecutive messages of each payload: bytes, build and
                      apply CPU (in this process, no hub)
  --out DIR           where the JSON results go                   (default bench/results)
  --help              this text
`;

const { values: args } = parseArgs({
  options: {
    variants: { type: 'string' },
    payloads: { type: 'string' },
    subscribers: { type: 'string', default: '200' },
    messages: { type: 'string', default: '200' },
    memory: { type: 'string', default: '1000' },
    'memory-variants': { type: 'string', default: 'ws-json,ws-deflate,ws-compact-deflate,sse-json,sse-gzip' },
    interval: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    'delta-encodings': { type: 'boolean', default: false },
    out: { type: 'string', default: fileURLToPath(new URL('./results', import.meta.url)) },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const positive = (name) => {
  const n = Number(args[name]);
  if (!Number.isSafeInteger(n) || n < 0) {
    process.stderr.write(`--${name} must be a whole number ≥ 0\n\n${HELP}`);
    process.exit(2);
  }
  return n;
};
const pick = (text, fallback, valid, what) => {
  if (text === undefined) return fallback;
  const list = text.split(',').filter(Boolean);
  for (const name of list) {
    if (!valid(name)) {
      process.stderr.write(`unknown ${what} ${name} (${what === 'payload' ? PAYLOADS.join(', ') : DEFAULT_VARIANTS.join(', ')})\n`);
      process.exit(2);
    }
  }
  return list;
};
const isVariant = (name) => variantFor(name) !== undefined;
const variants = pick(args.variants, DEFAULT_VARIANTS, isVariant, 'variant');
const memoryVariants = pick(args['memory-variants'], undefined, isVariant, 'variant');
const payloads = pick(args.payloads, DEFAULT_PAYLOADS, (name) => PAYLOADS.includes(name), 'payload');
const subscribers = positive('subscribers');
const messages = positive('messages');
const memoryConnections = positive('memory');
const runs = Math.max(1, positive('runs'));
const interval = positive('interval');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `check()` holds, polling every 5 ms; rejects after `timeoutMs`. */
async function until(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** One subscriber: counts the messages delivered to it and the bytes its sockets read. */
class Subscriber {
  delivered = 0;
  #sockets = new Set();
  #close = () => {};

  /** Bytes read by every socket this subscriber used. */
  get bytes() {
    let total = 0;
    for (const socket of this.#sockets) total += socket.bytesRead;
    return total;
  }

  track(socket) {
    this.#sockets.add(socket);
  }

  onClose(close) {
    this.#close = close;
  }

  close() {
    this.#close();
  }
}

/** A WebSocket subscriber of `variant`; resolves once subscribed. */
function wsSubscriber(port, channel, variant, codec) {
  const sub = new Subscriber();
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, variant.protocol ?? [], { perMessageDeflate: variant.deflate === true });
    let subscribed = false;
    ws.on('upgrade', (res) => sub.track(res.socket));
    ws.on('open', () => ws.send(codec.encode({ id: 1, type: 'subscribe', channel, ...variant.subscribe })));
    ws.on('message', (data) => {
      if (subscribed) {
        sub.delivered++;
        return;
      }
      const frame = codec.decode(data);
      if (frame.type !== 'reply') return;
      if (frame.error !== undefined) return reject(new Error(`subscribe failed: ${JSON.stringify(frame.error)}`));
      subscribed = true;
      resolve(sub);
    });
    ws.on('error', reject);
    sub.onClose(() => ws.terminate());
  });
}

const ENCODINGS = { gzip: createGunzip, br: createBrotliDecompress };

/** Counts the complete SSE events carrying a message (not comments, not the stream's opening event). */
function sseCounter(sub) {
  let buffered = '';
  return (text) => {
    buffered += text;
    let end;
    while ((end = buffered.indexOf('\n\n')) !== -1) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      // A compact item's `data:` has no space (`data:[…]`, one byte less).
      if (/^data: ?(\[|\{"type":"(message|delta)")/m.test(event)) sub.delivered++;
    }
  };
}

/** An SSE subscriber of `variant`; resolves once the stream answered. */
function sseSubscriber(port, channel, variant, agent) {
  const sub = new Subscriber();
  const query = new URLSearchParams({ channel, ...variant.query });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: `/events?${query}`,
        agent,
        headers: { accept: 'text/event-stream', ...(variant.encoding && { 'accept-encoding': variant.encoding }) },
      },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`/events answered ${res.statusCode}`));
        sub.track(res.socket);
        const count = sseCounter(sub);
        const coding = res.headers['content-encoding'];
        if (variant.encoding !== undefined && coding !== variant.encoding)
          return reject(new Error(`/events answered content-encoding ${coding}, not ${variant.encoding}`));
        const body = coding === undefined ? res : res.pipe(ENCODINGS[coding]({ flush: 2 }));
        body.setEncoding('utf8');
        body.on('data', count);
        resolve(sub);
      },
    );
    req.on('error', reject);
    req.end();
    sub.onClose(() => req.destroy());
  });
}

/** GET `path`, decoded; resolves with the status and the JSON answer. */
function getJson(port, path, agent, encoding, track) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers: encoding ? { 'accept-encoding': encoding } : {} }, (res) => {
      track(res.socket);
      const coding = res.headers['content-encoding'];
      const body = coding === undefined ? res : res.pipe(ENCODINGS[coding]());
      const chunks = [];
      body.on('data', (chunk) => chunks.push(chunk));
      body.on('end', () => {
        try {
          resolve({ status: res.statusCode, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        } catch (error) {
          reject(error);
        }
      });
      body.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A long-polling subscriber of `variant`, polling until closed; resolves once it holds a cursor. */
async function pollSubscriber(port, channel, variant) {
  const sub = new Subscriber();
  // One keep-alive socket per poller, as a browser's would be.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let open = true;
  sub.onClose(() => {
    open = false;
    agent.destroy();
  });
  const path = (since, extra) => `/api/messages?${new URLSearchParams({ channel, since, ...variant.query, ...extra })}`;
  const first = await getJson(port, path('now', {}), agent, variant.encoding, (s) => sub.track(s));
  if (first.status !== 200) throw new Error(`/api/messages answered ${first.status}: ${JSON.stringify(first.body)}`);
  let cursor = first.body.cursor;
  let base;
  void (async () => {
    while (open) {
      try {
        const answer = await getJson(
          port,
          path(cursor, { wait: '20', ...(variant.pollBase && base !== undefined && { base }) }),
          agent,
          variant.encoding,
          (s) => sub.track(s),
        );
        if (answer.status !== 200) throw new Error(`poll answered ${answer.status}`);
        sub.delivered += answer.body.messages.length;
        cursor = answer.body.cursor;
        const last = answer.body.messages.at(-1);
        if (last !== undefined) base = String(Array.isArray(last) ? last[1] : last.offset);
      } catch (error) {
        if (open) process.stderr.write(`poller: ${error.message}\n`);
        return;
      }
    }
  })();
  return sub;
}

async function codecFor(variant) {
  if (variant.protocol !== 'herald.msgpack')
    return { encode: (frame) => JSON.stringify(frame), decode: (data) => JSON.parse(data.toString('utf8')) };
  const { encode, decode } = await import('@msgpack/msgpack');
  return { encode: (frame) => Buffer.from(encode(frame)), decode: (data) => decode(data) };
}

async function connect(port, channel, variant, count) {
  const codec = await codecFor(variant);
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const subs = [];
  // In batches: thousands of handshakes at once would only measure the accept queue.
  for (let i = 0; i < count; i += 100) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 100); j++) {
      batch.push(
        variant.transport === 'ws'
          ? wsSubscriber(port, channel, variant, codec)
          : variant.transport === 'sse'
            ? sseSubscriber(port, channel, variant, agent)
            : pollSubscriber(port, channel, variant),
      );
    }
    subs.push(...(await Promise.all(batch)));
  }
  return subs;
}

/** One measurement of `variant` with `payload`: bytes and hub CPU per delivery, delivered messages/s. */
async function measure(hub, port, variantName, payload, run) {
  const variant = variantFor(variantName);
  const channel = `${variant.namespace ?? 'bench'}:${variantName}-${payload}-${run}`;
  const subs = await connect(port, channel, variant, subscribers);
  try {
    const delivered = () => subs.reduce((n, s) => n + s.delivered, 0);
    // Warm-up: the first messages (full ones on a delta channel, which has no base yet).
    await hub.request('publish', { channel, payload, count: 2, from: 0 });
    await until(() => delivered() === 2 * subscribers, 30_000, 'the warm-up messages');
    const bytesBefore = subs.reduce((n, s) => n + s.bytes, 0);
    const cpuBefore = await hub.request('cpu');
    const started = process.hrtime.bigint();
    await hub.request('publish', { channel, payload, count: messages, from: 2, interval }, 120_000 + messages * interval);
    await until(() => delivered() === (messages + 2) * subscribers, 120_000, 'every delivery');
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpuUs = (await hub.request('cpu')) - cpuBefore;
    const bytes = subs.reduce((n, s) => n + s.bytes, 0) - bytesBefore;
    const deliveries = messages * subscribers;
    return {
      variant: variantName,
      payload,
      run,
      bytesPerDelivery: bytes / deliveries,
      cpuUsPerDelivery: cpuUs / deliveries,
      deliveredPerSec: deliveries / seconds,
    };
  } finally {
    for (const sub of subs) sub.close();
  }
}

/** Hub memory per connection of `variant` (RSS, and heap + external), after each connection received a few messages. */
async function memoryPerConnection(hub, port, variantName, run) {
  const variant = variantFor(variantName);
  const channel = `${variant.namespace ?? 'bench'}:mem-${variantName}-${run}`;
  const before = await hub.request('memory');
  const subs = await connect(port, channel, variant, memoryConnections);
  try {
    await hub.request('publish', { channel, payload: 'dashboard', count: 3, from: 0 });
    await until(() => subs.every((s) => s.delivered === 3), 60_000, 'the memory run messages');
    await sleep(500);
    const after = await hub.request('memory');
    return {
      variant: variantName,
      connections: memoryConnections,
      rssPerConnection: (after.rss - before.rss) / memoryConnections,
      heapPerConnection: (after.heap - before.heap) / memoryConnections,
    };
  } finally {
    for (const sub of subs) sub.close();
    await sleep(500);
  }
}

/** The variants by the hub they run on (their `hub` options), in the order they were named. */
function hubGroups() {
  const groups = new Map();
  for (const name of variants) {
    const key = hubKey(variantFor(name));
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(name);
  }
  return [...groups.values()];
}

const results = [];
const memory = [];
for (let run = 1; run <= runs; run++) {
  for (const group of hubGroups()) await measureGroup(group, run);
  if (memoryConnections > 0) for (const name of memoryVariants) await measureMemory(name, run);
}

/** Starts a hub process with the options `names` need: their `server` options, then their (common) `hub` options. */
async function startHub(names) {
  const members = names.map(variantFor);
  const options = {};
  for (const variant of members) Object.assign(options, variant.server);
  const hub = new ChildProcess(fileURLToPath(new URL('./wire-server.mjs', import.meta.url)), [], ['--expose-gc']);
  try {
    const { port } = await hub.request('start', { options: { ...options, ...members[0].hub } });
    return { hub, port };
  } catch (error) {
    await hub.stop();
    throw error;
  }
}

/** One run of the variants of one hub group, on a fresh hub: one run's connections never weigh on the next. */
async function measureGroup(group, run) {
  const { hub, port } = await startHub(group);
  try {
    for (const payload of payloads) {
      for (const name of group) {
        process.stderr.write(`run ${run}/${runs} ${payload} ${name} …`);
        const result = await measure(hub, port, name, payload, run);
        results.push(result);
        process.stderr.write(` ${result.bytesPerDelivery.toFixed(1)} B, ${result.cpuUsPerDelivery.toFixed(2)} µs/delivery\n`);
      }
    }
  } finally {
    await hub.stop();
  }
}

/**
 * The memory reading of one variant, in a hub process of its own: memory the process freed (a
 * context-takeover compressor of a closed session, outside the JS heap) is reused by the allocator
 * rather than given back, so a reading after other connections would miss it.
 */
async function measureMemory(name, run) {
  const { hub, port } = await startHub([name]);
  try {
    // A first round of plain WebSocket connections nobody reads: the process's allocators grow once,
    // not inside the reading, and no per-session compressor is freed before it.
    await memoryPerConnection(hub, port, 'ws-json', 0);
    process.stderr.write(`run ${run}/${runs} memory ${name} …`);
    const reading = await memoryPerConnection(hub, port, name, run);
    memory.push(reading);
    process.stderr.write(
      ` heap ${(reading.heapPerConnection / 1024).toFixed(1)} KiB, RSS ${(reading.rssPerConnection / 1024).toFixed(1)} KiB per connection\n`,
    );
  } finally {
    await hub.stop();
  }
}

const rows = [];
for (const payload of payloads) {
  for (const name of variants) {
    const mine = results.filter((r) => r.variant === name && r.payload === payload);
    rows.push({
      payload,
      variant: name,
      bytesPerDelivery: median(mine.map((r) => r.bytesPerDelivery)),
      cpuUsPerDelivery: median(mine.map((r) => r.cpuUsPerDelivery)),
      deliveredPerSec: median(mine.map((r) => r.deliveredPerSec)),
    });
  }
}
const memoryRows = memoryVariants.map((name) => {
  const mine = memory.filter((m) => m.variant === name);
  return {
    variant: name,
    heapPerConnection: median(mine.map((m) => m.heapPerConnection)),
    rssPerConnection: median(mine.map((m) => m.rssPerConnection)),
  };
});

let table = `| payload | variant | bytes/delivery | vs JSON on its transport | hub CPU µs/delivery | deliveries per hub CPU-second |\n| --- | --- | --- | --- | --- | --- |\n`;
for (const row of rows) {
  const base = rows.find((r) => r.payload === row.payload && r.variant === `${variantFor(row.variant).transport}-json`);
  const ratio = base?.bytesPerDelivery ? `${(row.bytesPerDelivery / base.bytesPerDelivery).toFixed(2)}×` : '—';
  table += `| ${row.payload} | ${row.variant} | ${row.bytesPerDelivery.toFixed(1)} | ${ratio} | ${row.cpuUsPerDelivery.toFixed(2)} | ${Math.round(1e6 / row.cpuUsPerDelivery).toLocaleString('en')} |\n`;
}
if (memoryConnections > 0) {
  const kib = (bytes) => (bytes === null ? '—' : `${(bytes / 1024).toFixed(1)} KiB`);
  table += `\n| variant | hub heap + external per connection | hub RSS per connection (${memoryConnections} connections) |\n| --- | --- | --- |\n`;
  for (const row of memoryRows) table += `| ${row.variant} | ${kib(row.heapPerConnection)} | ${kib(row.rssPerConnection)} |\n`;
}
let deltaEncodings;
if (args['delta-encodings']) {
  // A first pass nobody reads (the JIT compiles every path), then one per run: medians.
  for (const payload of payloads) compareDeltaEncodings(payload, messages);
  deltaEncodings = payloads.map((payload) => {
    const passes = Array.from({ length: runs }, () => compareDeltaEncodings(payload, messages));
    const encodings = passes[0].encodings.map((e, i) => ({
      ...e,
      buildUs: e.buildUs === undefined ? undefined : median(passes.map((p) => p.encodings[i].buildUs)),
      applyUs: median(passes.map((p) => p.encodings[i].applyUs)),
    }));
    return { payload, updates: messages, encodings };
  });
  table += `\n| payload | encoding | bytes/update | of full | build µs (hub, once per message) | apply µs (client) |\n| --- | --- | --- | --- | --- | --- |\n`;
  for (const { payload, encodings } of deltaEncodings) {
    const full = encodings[0].bytes;
    for (const e of encodings) {
      const build = e.buildUs === undefined ? '–' : e.buildUs.toFixed(1);
      table += `| ${payload} | ${e.encoding} | ${e.bytes.toFixed(0)} | ${((e.bytes / full) * 100).toFixed(1)} % | ${build} | ${e.applyUs.toFixed(1)} |\n`;
    }
  }
}
process.stdout.write(
  `\n${subscribers} subscribers, ${messages} messages per run ${interval} ms apart, medians of ${runs} runs\n\n${table}`,
);
mkdirSync(args.out, { recursive: true });
const file = join(args.out, `wire-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify({ subscribers, messages, interval, runs, rows, memory: memoryRows, deltaEncodings, results }, null, 2));
process.stdout.write(`\nresults: ${file}\n`);
