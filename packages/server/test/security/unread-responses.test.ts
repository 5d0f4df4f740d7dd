import { connect, type Socket } from 'node:net';
import { CloseCode, encodePosition } from '@herald/protocol';
import { eventually, WsTestClient, type TestHub } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardSuite, startHub } from './suite.js';
import { httpRequest } from './wire.js';

/**
 * Answers to reads are capped in bytes (`maxResponseBytes`, 1 MiB by default) and a client that does
 * not read them is cut: the attack of issue 9 (1,000 messages of 60 KB; raw sockets and WebSocket
 * sessions asking for all of them and never reading) leaves the hub's memory bounded.
 */

guardSuite();

const CHANNEL = 'room:flood';
const MESSAGES = 1000;
const PAYLOAD = 'x'.repeat(60 * 1024);
const MiB = 1024 * 1024;
/** Requests one connection may have unanswered (see docs/operations.md, Limits and why). */
const MAX_PIPELINED = 32;

let hub: TestHub;

beforeAll(async () => {
  // Uncompressed: the repetitive payload deflates to almost nothing, so a stalled deflate session would hold little.
  hub = await startHub({ compression: false });
  for (let i = 0; i < MESSAGES; i++) await hub.server.hub.publish(CHANNEL, PAYLOAD);
});

afterAll(() => hub.close());

/** Reads every answer of `path` from the start, following `cursor` while `more`; returns the offsets and the largest body. */
async function walk(path: string): Promise<{ offsets: number[]; answers: number; largest: number }> {
  const offsets: number[] = [];
  let since = '';
  let largest = 0;
  for (let answers = 1; ; answers++) {
    const answer = await httpRequest(`${hub.url}${path}?channel=${CHANNEL}&limit=1000${since}`);
    expect(answer.status).toBe(200);
    largest = Math.max(largest, Buffer.byteLength(answer.text));
    offsets.push(...(answer.json.messages as { offset: number }[]).map((m) => m.offset));
    if (answer.json.more !== true) return { offsets, answers, largest };
    since = `&since=${answer.json.cursor as string}`;
  }
}

const oneToN = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe('an answer to a read', () => {
  it.each(['/api/messages', '/api/history'])(
    '%s carries at most 1 MiB of messages, with more: true and a cursor that continues without loss or duplicates',
    async (path) => {
      const { offsets, answers, largest } = await walk(path);
      expect(offsets).toEqual(oneToN(MESSAGES));
      // 17 messages of 60 KB fit in 1 MiB: 59 answers instead of one of 60 MB.
      expect(answers).toBe(Math.ceil(MESSAGES / Math.floor(MiB / (PAYLOAD.length + 120))));
      expect(largest).toBeLessThanOrEqual(MiB + 200);
    },
  );

  it('the WebSocket history reply is capped the same way, its cursor continuing the read', async () => {
    const client = await WsTestClient.connect(hub.wsUrl);
    const offsets: number[] = [];
    let since: string | undefined;
    for (;;) {
      const reply = await client.request({ type: 'history', channel: CHANNEL, limit: 1000, ...(since !== undefined && { since }) });
      expect(reply.error).toBeUndefined();
      offsets.push(...(reply.messages as { offset: number }[]).map((m) => m.offset));
      expect(reply.messages.length).toBeLessThanOrEqual(17);
      const last = reply.messages.at(-1);
      expect(reply.cursor).toBe(encodePosition(CHANNEL, { epoch: last.epoch, offset: last.offset }));
      if (reply.more !== true) break;
      since = reply.cursor as string;
    }
    expect(offsets).toEqual(oneToN(MESSAGES));
    await client.close();
  });

  it('always carries one message, even one larger than the cap; later channels keep their place', async () => {
    const small = await startHub({ maxResponseBytes: 1000 });
    try {
      await small.server.hub.publish('big', 'b'.repeat(5000));
      await small.server.hub.publish('big', 'b'.repeat(5000));
      await small.server.hub.publish('other', 'o');
      const first = await httpRequest(`${small.url}/api/messages?channel=big&channel=other`);
      expect(first.json.messages.map((m: { channel: string; offset: number }) => [m.channel, m.offset])).toEqual([['big', 1]]);
      expect(first.json.more).toBe(true);
      const second = await httpRequest(`${small.url}/api/messages?channel=big&channel=other&since=${first.json.cursor as string}`);
      expect(second.json.messages.map((m: { channel: string; offset: number }) => [m.channel, m.offset])).toEqual([['big', 2]]);
      expect(second.json.more).toBe(true);
      const third = await httpRequest(`${small.url}/api/messages?channel=big&channel=other&since=${second.json.cursor as string}`);
      expect(third.json.messages.map((m: { channel: string; offset: number }) => [m.channel, m.offset])).toEqual([['other', 1]]);
      expect(third.json.more).toBeUndefined();
      const ws = await WsTestClient.connect(small.wsUrl);
      const reply = await ws.request({ type: 'history', channel: 'big' });
      expect(reply.messages.map((m: { offset: number }) => m.offset)).toEqual([1]);
      expect(reply.more).toBe(true);
      await ws.close();
    } finally {
      await small.close();
    }
  });
});

/** A raw connection that sends `requests` pipelined GETs for every message and never reads. */
function nonReader(port: number, requests: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.pause();
      socket.write(`GET /api/messages?channel=${CHANNEL}&limit=1000 HTTP/1.1\r\nHost: x\r\n\r\n`.repeat(requests));
      resolve(socket);
    });
    socket.on('error', () => undefined);
    socket.once('error', reject);
  });
}

/** Sends `count` pipelined `GET /healthz` on one connection; resolves with the answers read and whether the server closed it. */
function pipelined(port: number, count: number): Promise<{ answers: number; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect(port, '127.0.0.1', () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(count)));
    const answers = (): number => text.split('HTTP/1.1 200 OK').length - 1;
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (answers() === count) {
        socket.destroy();
        resolve({ answers: count, closedByServer: false });
      }
    });
    socket.on('close', () => resolve({ answers: answers(), closedByServer: true }));
    socket.on('error', reject);
  });
}

describe('pipelined requests', () => {
  it(`a connection may have ${MAX_PIPELINED} requests unanswered; one more closes it`, async () => {
    expect(await pipelined(hub.port, MAX_PIPELINED)).toEqual({ answers: MAX_PIPELINED, closedByServer: false });
    const flood = await pipelined(hub.port, 500);
    expect(flood.closedByServer).toBe(true);
    expect(flood.answers).toBeLessThan(500);
  });
});

describe('a client that does not read its answers', () => {
  it('10 raw sockets and 5 WebSocket sessions asking for 60 MB each: the hub grows by less than 200 MB and cuts them', async () => {
    const rawOnServer: Socket[] = [];
    const track = (socket: Socket): number => rawOnServer.push(socket);
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    hub.server.server.on('connection', track);
    // 30 pipelined requests each: 1.8 GB asked for per socket, as 30 answers of 1 MiB.
    const raw = await Promise.all(Array.from({ length: 10 }, () => nonReader(hub.port, 30)));
    await eventually(() => rawOnServer.length >= raw.length, 'the raw connections to reach the hub');
    hub.server.server.off('connection', track);
    const sessions = await Promise.all(Array.from({ length: 5 }, () => WsTestClient.connect(hub.wsUrl)));
    const paused = sessions.map((session) => (session.socket as unknown as { _socket: Socket })._socket);
    for (const [i, session] of sessions.entries()) {
      paused[i]!.pause();
      for (let id = 1; id <= 30; id++) session.sendRaw(JSON.stringify({ id, type: 'history', channel: CHANNEL, limit: 1000 }));
    }
    const cut = (): boolean =>
      hub.server.stats().websocket === 0 && rawOnServer.length === raw.length && rawOnServer.every((s) => s.destroyed);
    const deadline = Date.now() + 10_000;
    while (!cut() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    // Memory is measured a little longer: what the cut connections held must not linger or grow.
    await new Promise((resolve) => setTimeout(resolve, 500));
    clearInterval(sampler);
    const growth = (peak - before) / MiB;
    console.log(`rss before ${(before / MiB).toFixed(0)} MB, peak ${(peak / MiB).toFixed(0)} MB (+${growth.toFixed(0)} MB)`);
    expect({
      websocket: hub.server.stats().websocket,
      rawOpen: rawOnServer.filter((s) => !s.destroyed).length,
      rawSeen: rawOnServer.length,
    }).toEqual({ websocket: 0, rawOpen: 0, rawSeen: 10 });
    expect(growth).toBeLessThan(200);
    // Each session was told why once it reads again: 4000, after the one answer it was sent.
    for (const socket of paused) socket.resume();
    for (const session of sessions) expect(await session.closed).toEqual({ code: CloseCode.SlowConsumer, reason: 'slow consumer' });
    for (const socket of raw) socket.destroy();
  });
});

/** A cursor just after the first message (from a read, so it is whatever the hub hands out). */
async function cursorAfterFirst(): Promise<string> {
  const answer = await httpRequest(`${hub.url}/api/messages?channel=${CHANNEL}&limit=1`);
  return answer.json.cursor as string;
}

/** A raw `GET /events` resuming from `cursor` that never reads. */
function nonReadingStream(port: number, cursor: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.pause();
      socket.write(`GET /events?channel=${CHANNEL}&since=${cursor} HTTP/1.1\r\nHost: x\r\n\r\n`);
      resolve(socket);
    });
    socket.on('error', () => undefined);
    socket.once('error', reject);
  });
}

describe('a resume from far back', () => {
  it('is fed as the client reads: all 999 retained messages, then the ones published meanwhile, in order, once', async () => {
    const client = await WsTestClient.connect(hub.wsUrl);
    const reply = await client.request({ type: 'subscribe', channel: CHANNEL, since: await cursorAfterFirst() });
    expect(reply.error).toBeUndefined();
    for (let i = 0; i < 5; i++) await hub.server.hub.publish(CHANNEL, 'live');
    const messages = await client.waitForMessages(MESSAGES - 1 + 5, CHANNEL, 10_000);
    expect(messages.map((m: { offset: number }) => m.offset)).toEqual(oneToN(MESSAGES + 5).slice(1));
    await client.close();
  });

  it('5 WebSocket sessions and 5 SSE streams resuming 60 MB each without reading: the hub grows by less than 200 MB', async () => {
    const cursor = await cursorAfterFirst();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const streams = await Promise.all(Array.from({ length: 5 }, () => nonReadingStream(hub.port, cursor)));
    const sessions = await Promise.all(Array.from({ length: 5 }, () => WsTestClient.connect(hub.wsUrl)));
    for (const session of sessions) {
      (session.socket as unknown as { _socket: Socket })._socket.pause();
      session.sendRaw(JSON.stringify({ id: 1, type: 'subscribe', channel: CHANNEL, since: cursor }));
    }
    await eventually(() => hub.server.stats().sse >= 5, '5 SSE streams');
    // Long enough for a whole replay to be queued several times over, were it queued at once.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    clearInterval(sampler);
    const growth = (peak - before) / MiB;
    console.log(`resumes: rss before ${(before / MiB).toFixed(0)} MB, peak ${(peak / MiB).toFixed(0)} MB (+${growth.toFixed(0)} MB)`);
    expect(growth).toBeLessThan(200);
    for (const socket of streams) socket.destroy();
    for (const session of sessions) session.socket.terminate();
  });
});
