#!/usr/bin/env node
// Compression on the wire, measured: bytes and hub CPU per delivery with WebSocket permessage-deflate
// and SSE gzip, against plain, for a small (100-byte payload) and a dashboard (5 KB JSON) message;
// and what an SSE stream costs in memory with gzip (shared segments) against a per-stream gzip.
// Usage: node --expose-gc bench/compression.mjs [--clients 200] [--messages 200] [--threshold 256] [--small-only]
// (needs `npm run build`; the hub and the byte-counting clients share the process, so CPU includes both)
import { randomBytes, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { constants, createGzip, deflateRawSync } from 'node:zlib';
import { createHeraldServer, silentLogger } from '@herald/server';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
};
const CLIENTS = arg('clients', 200);
const MESSAGES = arg('messages', 200);
const THRESHOLD = arg('threshold', 256);
const ONLY_SMALL = process.argv.includes('--small-only');

const words = ['order', 'shipped', 'user', 'alice', 'bob', 'price', 'status', 'ok', 'queued', 'eu-west', 'retry'];
const pick = (i) => words[(i * 7 + 3) % words.length];
/** A 100-byte chat-like payload: text that varies per message. */
const small = (i) => {
  const text = `${pick(i)} ${randomUUID().slice(0, 8)} ${pick(i + 1)} #${i}`;
  return { user: pick(i + 2), text: text.padEnd(100 - 24, '.') };
};
/** A ~5 KB dashboard payload: 60 rows of metrics with varying values. */
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

function wsClient(port, offer) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const client = { socket, bytes: 0, frames: 0, open: false };
    let head = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      if (!client.open) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        client.open = true;
        const ext = /sec-websocket-extensions: ([^\r]*)/i.exec(head.subarray(0, end).toString());
        client.deflate = ext !== null;
        // Subscribe (masked frame) once open.
        const text = Buffer.from(JSON.stringify({ id: 1, type: 'subscribe', channel: 'bench' }));
        const mask = randomBytes(4);
        socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | text.length]), mask, Buffer.from(text.map((b, i) => b ^ mask[i % 4]))]));
        client.bytes = 0;
        return resolve(client);
      }
      client.bytes += chunk.length;
    });
    socket.once('error', reject);
    socket.write(
      `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
        `Sec-WebSocket-Version: 13\r\n${offer ? 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n' : ''}\r\n`,
    );
  });
}

function sseClient(port, gzip) {
  return new Promise((resolve, reject) => {
    const req = request(
      { port, host: '127.0.0.1', path: '/events?channel=bench', headers: gzip ? { 'accept-encoding': 'gzip' } : {} },
      (res) => {
        const client = { res, bytes: 0 };
        res.on('data', (chunk) => (client.bytes += chunk.length));
        setTimeout(() => resolve(client), 20);
      },
    );
    req.once('error', reject);
    req.end();
  });
}

async function run(kind, make, transport, compressed) {
  const server = createHeraldServer({ logger: silentLogger, compression: compressed && { threshold: THRESHOLD }, historySize: 10 });
  const port = await server.listen(0, '127.0.0.1');
  const clients = [];
  for (let i = 0; i < CLIENTS; i++) clients.push(transport === 'ws' ? await wsClient(port, compressed) : await sseClient(port, compressed));
  await new Promise((resolve) => setTimeout(resolve, 200));
  for (const c of clients) c.bytes = 0;
  const payloads = Array.from({ length: MESSAGES }, (_, i) => make(i));
  const payloadBytes = payloads.reduce((sum, p) => sum + JSON.stringify(p).length, 0) / MESSAGES;
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  for (const payload of payloads) {
    await server.hub.publish('bench', payload);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const expected = clients.length * MESSAGES;
  // Wait until every client stopped receiving.
  let last = -1;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = clients.reduce((s, c) => s + c.bytes, 0);
    if (now === last) break;
    last = now;
  }
  const used = process.cpuUsage(cpu);
  const total = clients.reduce((s, c) => s + c.bytes, 0);
  for (const c of clients) (c.socket ?? c.res).destroy();
  await server.close();
  return {
    kind,
    transport,
    compressed,
    payloadBytes: Math.round(payloadBytes),
    bytesPerDelivery: Math.round(total / expected),
    cpuUsPerDelivery: Number(((used.user + used.system) / expected).toFixed(2)),
    ms: Math.round(performance.now() - t0),
  };
}

/** Per-stream gzip (the alternative to shared segments): bytes per event and memory per stream. */
async function perStreamGzip(make, windowBits, memLevel) {
  const gzip = createGzip({ level: 6, windowBits, memLevel });
  let bytes = 0;
  gzip.on('data', (chunk) => (bytes += chunk.length));
  const flushed = () => new Promise((resolve) => gzip.flush(constants.Z_SYNC_FLUSH, resolve));
  await flushed();
  bytes = 0;
  const cpu = process.cpuUsage();
  for (let i = 0; i < MESSAGES; i++) {
    gzip.write(
      `id: x\ndata: {"type":"message","channel":"bench","offset":${i + 1},"epoch":"k2x9f0","time":1733500000000,"data":${JSON.stringify(make(i))}}\n\n`,
    );
    await flushed();
  }
  const used = process.cpuUsage(cpu);
  gzip.close();
  return { bytesPerEvent: Math.round(bytes / MESSAGES), cpuUsPerEvent: Number(((used.user + used.system) / MESSAGES).toFixed(1)) };
}

async function streamMemory(count, windowBits, memLevel) {
  global.gc?.();
  const before = process.memoryUsage();
  const streams = [];
  for (let i = 0; i < count; i++) {
    const gzip = createGzip({ level: 6, windowBits, memLevel });
    gzip.write('data: x\n\n');
    gzip.flush(constants.Z_SYNC_FLUSH);
    streams.push(gzip);
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  const after = process.memoryUsage();
  for (const s of streams) s.close();
  return Math.round((after.rss - before.rss) / count);
}

const results = [];
for (const [kind, make] of [['small', small], ...(ONLY_SMALL ? [] : [['dashboard', dashboard]])]) {
  for (const transport of ['ws', 'sse']) {
    for (const compressed of [false, true]) results.push(await run(kind, make, transport, compressed));
  }
}
console.table(results);
if (ONLY_SMALL) process.exit(0);
const once = [];
for (const [kind, make] of [
  ['small', small],
  ['dashboard', dashboard],
]) {
  const json = Buffer.from(JSON.stringify({ type: 'message', channel: 'bench', offset: 1, epoch: 'k2x9f0', time: 1, data: make(1) }));
  const cpu = process.cpuUsage();
  let out;
  for (let i = 0; i < 2000; i++) out = deflateRawSync(json, { level: 6, finishFlush: constants.Z_SYNC_FLUSH });
  const used = process.cpuUsage(cpu);
  once.push({ kind, envelope: json.length, deflated: out.length - 4, usPerMessage: Number(((used.user + used.system) / 2000).toFixed(1)) });
  for (const [w, m] of [
    [15, 8],
    [10, 4],
  ])
    once.push({ kind: `${kind} per-stream gzip w${w} m${m}`, ...(await perStreamGzip(make, w, m)) });
}
console.table(once);
for (const [w, m] of [
  [15, 8],
  [10, 4],
  [9, 1],
])
  console.log(`per-stream gzip windowBits ${w} memLevel ${m}: ${await streamMemory(500, w, m)} B RSS per stream`);
