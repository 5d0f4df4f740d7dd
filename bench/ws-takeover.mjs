#!/usr/bin/env node
// WebSocket permessage-deflate, shared (one compression per message for every session) against
// context takeover (`compression.contextTakeover`: a compressor per session): bytes and hub CPU per
// delivery, and memory per session once its compressor exists.
// Usage: node --expose-gc bench/ws-takeover.mjs [--clients 200] [--messages 200] [--sessions 1000]
// (needs `npm run build`; the hub and the byte-counting clients share the process, so CPU includes both)
import { randomBytes, randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { createHeraldServer, silentLogger } from '@herald/server';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
};
const CLIENTS = arg('clients', 200);
const MESSAGES = arg('messages', 200);
const SESSIONS = arg('sessions', 1000);
const WINDOW = arg('window', 12);

const words = ['order', 'shipped', 'user', 'alice', 'bob', 'price', 'status', 'ok', 'queued', 'eu-west', 'retry'];
const pick = (i) => words[(i * 7 + 3) % words.length];
/** A 100-byte chat-like payload (as bench/compression.mjs). */
const small = (i) => ({ user: pick(i + 2), text: `${pick(i)} ${randomUUID().slice(0, 8)} ${pick(i + 1)} #${i}`.padEnd(76, '.') });
/** A 4.4 KB dashboard (as bench/compression.mjs): 50 rows, random values. */
const dashboard = (i) => ({
  at: 1_733_500_000_000 + i,
  rows: Array.from({ length: 50 }, (_, r) => ({
    id: r,
    name: `sensor-${r}`,
    region: pick(r),
    value: Math.round(Math.random() * 1e6) / 100,
    p99: Math.round(Math.random() * 1e4) / 10,
    status: r % 7 === 0 ? 'warn' : 'ok',
  })),
});
/** A 1.2 KB dashboard whose values move a little from one message to the next (a live tile). */
const tile = (i) => ({
  rows: Array.from({ length: 20 }, (_, j) => ({
    id: j,
    name: `sensor-${j}`,
    value: Math.round(Math.sin(i + j) * 10_000) / 100,
    status: (i + j) % 7 ? 'ok' : 'warn',
  })),
});

function wsClient(port) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const client = { socket, bytes: 0, open: false };
    let head = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      if (!client.open) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        client.open = true;
        client.extensions = /sec-websocket-extensions: ([^\r]*)/i.exec(head.subarray(0, end).toString())?.[1];
        const text = Buffer.from(JSON.stringify({ id: 1, type: 'subscribe', channel: 'bench' }));
        const mask = randomBytes(4);
        socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | text.length]), mask, Buffer.from(text.map((b, i) => b ^ mask[i % 4]))]));
        return resolve(client);
      }
      client.bytes += chunk.length;
    });
    socket.once('error', reject);
    socket.write(
      `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n`,
    );
  });
}

const settle = async (clients) => {
  let last = -1;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = clients.reduce((s, c) => s + c.bytes, 0);
    if (now === last) return now;
    last = now;
  }
};

async function run(kind, make, mode) {
  const compression = mode === 'takeover' ? { contextTakeover: true, windowBits: WINDOW } : true;
  const server = createHeraldServer({ logger: silentLogger, compression, historySize: 10 });
  const port = await server.listen(0, '127.0.0.1');
  const clients = [];
  for (let i = 0; i < CLIENTS; i++) clients.push(await wsClient(port));
  await settle(clients);
  for (const c of clients) c.bytes = 0;
  const payloads = Array.from({ length: MESSAGES }, (_, i) => make(i));
  const cpu = process.cpuUsage();
  for (const payload of payloads) {
    await server.hub.publish('bench', payload);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const total = await settle(clients);
  const used = process.cpuUsage(cpu);
  for (const c of clients) c.socket.destroy();
  await server.close();
  const expected = CLIENTS * MESSAGES;
  return {
    kind,
    mode: mode === 'takeover' ? `takeover w${WINDOW}` : mode,
    bytesPerDelivery: Math.round(total / expected),
    cpuUsPerDelivery: Number(((used.user + used.system) / expected).toFixed(2)),
  };
}

/** Memory per session: SESSIONS deflate sessions, each sent one compressed message (its compressor made). */
async function memory(mode, windowBits, memLevel) {
  const compression = mode === 'takeover' ? { contextTakeover: true, windowBits, memLevel } : true;
  const server = createHeraldServer({ logger: silentLogger, compression, historySize: 10, maxConnections: SESSIONS * 2 });
  const port = await server.listen(0, '127.0.0.1');
  global.gc?.();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const before = process.memoryUsage();
  const clients = [];
  for (let i = 0; i < SESSIONS; i++) clients.push(await wsClient(port));
  await settle(clients);
  await server.hub.publish('bench', tile(1));
  await settle(clients);
  global.gc?.();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const after = process.memoryUsage();
  for (const c of clients) c.socket.destroy();
  await server.close();
  // Client sockets are in the same process: both modes carry them, so the difference is the hub's.
  const per = (key) => Math.round((after[key] - before[key]) / SESSIONS);
  return {
    mode: mode === 'takeover' ? `takeover w${windowBits} m${memLevel}` : mode,
    rss: per('rss'),
    heap: per('heapUsed'),
    external: per('external'),
  };
}

// --memory <shared|w,m>: one memory measurement, in a process of its own (RSS is not given back).
const memoryAt = process.argv.indexOf('--memory');
if (memoryAt !== -1) {
  const what = process.argv[memoryAt + 1];
  const [w, m] = what === 'shared' ? [] : what.split(',').map(Number);
  console.log(JSON.stringify(await memory(what === 'shared' ? 'shared' : 'takeover', w, m)));
  process.exit(0);
}
if (!process.argv.includes('--memory-only')) {
  const results = [];
  for (const [kind, make] of [
    ['small', small],
    ['tile 1.2 KB', tile],
    ['dashboard 4.4 KB', dashboard],
  ]) {
    for (const mode of ['shared', 'takeover']) results.push(await run(kind, make, mode));
  }
  console.table(results);
}
const { execFileSync } = await import('node:child_process');
const mem = [];
for (const what of ['shared', '12,4', '10,2', '13,4', '15,8']) {
  const out = execFileSync(process.execPath, ['--expose-gc', process.argv[1], '--sessions', String(SESSIONS), '--memory', what]);
  mem.push(JSON.parse(out.toString()));
}
console.table(mem);
