import { connect } from 'node:net';
import { ErrorCode } from '@herald/protocol';
import { SseTestClient, WsTestClient, type TestHub } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JwtAuthenticator } from '@herald/server';
import { bearer, framesUpToPing, guardSuite, HS_SECRET, signToken, startHub } from './suite.js';
import { clientFrame, httpRequest, publishWith, rawUpgrade, serverCloseCode } from './wire.js';

/**
 * Hostile bytes on the wire: oversized headers, malformed and oversized WebSocket frames, fragment
 * floods, unparseable and deeply nested JSON, `__proto__` keys, slowloris. Each gets its exact
 * status or close code; after each, the hub still serves a watcher subscribed before the abuse.
 */

guardSuite();

const PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).sort();
const MAX_MESSAGE = 64 * 1024;

let hub: TestHub;
let watcher: WsTestClient;
let heartbeats = 0;

beforeAll(async () => {
  hub = await startHub({
    headersTimeout: 1000,
    maxMessageBytes: MAX_MESSAGE,
    security: { authenticator: new JwtAuthenticator({ secret: HS_SECRET }) },
  });
  watcher = await WsTestClient.connect(hub.wsUrl);
  await watcher.request({ type: 'subscribe', channel: 'watched' });
});

afterAll(async () => {
  await watcher.close();
  await hub.close();
});

/** The hub answers HTTP and still delivers to the watcher subscribed before the abuse. */
async function expectStillServing(): Promise<void> {
  expect((await httpRequest(`${hub.url}/healthz`)).status).toBe(200);
  const n = ++heartbeats;
  await hub.server.hub.publish('watched', n);
  expect((await watcher.waitForMessages(n, 'watched')).at(-1).data).toBe(n);
}

/** Writes `request` on a fresh TCP connection and resolves with everything sent back until close. */
function rawHttp(request: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(hub.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' || error.code === 'EPIPE' ? undefined : reject(error),
    );
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.write(request);
  });
}

const statusOf = (response: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);

describe('oversized request heads', () => {
  it('2,000 headers get 431 or 400, and the hub keeps serving', async () => {
    const headers = Array.from({ length: 2000 }, (_, i) => `X-Filler-${i}: value-${i}`).join('\r\n');
    const response = await rawHttp(`GET /healthz HTTP/1.1\r\nHost: x\r\n${headers}\r\n\r\n`);
    expect([400, 431]).toContain(statusOf(response));
    await expectStillServing();
  });

  it('a 64 KB Sec-WebSocket-Protocol header is refused with 431 or 400, before any 101', async () => {
    const protocols = Array.from({ length: 8192 }, (_, i) => `p${i}`)
      .join(', ')
      .slice(0, 64 * 1024);
    const response = await rawHttp(
      `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${protocols}\r\n\r\n`,
    );
    expect([400, 431]).toContain(statusOf(response));
    expect(response).not.toMatch(/^HTTP\/1\.1 101/);
    await expectStillServing();
  });

  it('2,000 headers on a WebSocket upgrade get 431 or 400', async () => {
    const headers = Array.from({ length: 2000 }, (_, i) => `X-Filler-${i}: value-${i}`).join('\r\n');
    const response = await rawHttp(
      `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${headers}\r\n\r\n`,
    );
    expect([400, 431]).toContain(statusOf(response));
    await expectStillServing();
  });
});

describe('malformed WebSocket frames', () => {
  it.each([
    ['a reserved data opcode (0x3)', clientFrame(0x3, 'x')],
    ['a reserved control opcode (0xB)', clientFrame(0xb, 'x')],
    ['an unmasked client frame', clientFrame(0x1, '{"id":1,"type":"ping"}', { mask: false })],
    ['RSV1 set without an extension', clientFrame(0x1, '{"id":1,"type":"ping"}', { rsv: 0b100 })],
    ['RSV2 and RSV3 set', clientFrame(0x1, '{"id":1,"type":"ping"}', { rsv: 0b011 })],
    ['a fragmented ping', clientFrame(0x9, 'x', { fin: false })],
    ['a ping longer than 125 bytes', clientFrame(0x9, 'x'.repeat(126))],
    ['a continuation frame with nothing to continue', clientFrame(0x0, 'x')],
    ['a close frame with code 999', clientFrame(0x8, Buffer.from([0x03, 0xe7]))],
  ])('%s: close 1002, and the hub serves others', async (_what, frame) => {
    const upgrade = await rawUpgrade(hub.port);
    expect(upgrade.status).toBe(101);
    upgrade.socket.write(frame);
    expect(await serverCloseCode(upgrade)).toBe(1002);
    await upgrade.closed;
    await expectStillServing();
  });

  it('invalid UTF-8 in a text frame: close 1007', async () => {
    const upgrade = await rawUpgrade(hub.port);
    upgrade.socket.write(clientFrame(0x1, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])));
    expect(await serverCloseCode(upgrade)).toBe(1007);
    await upgrade.closed;
    await expectStillServing();
  });
});

describe('oversized messages', () => {
  /** A publish command of exactly `bytes` bytes. */
  const commandOf = (bytes: number): string => {
    const head = '{"id":1,"type":"publish","channel":"big","data":"';
    return `${head}${'x'.repeat(bytes - head.length - 2)}"}`;
  };

  it('a frame of exactly maxMessageBytes is served; one byte more closes with 1009', async () => {
    const fits = await WsTestClient.connect(hub.wsUrl);
    fits.sendRaw(commandOf(MAX_MESSAGE));
    expect((await fits.frames.until((fs) => fs.some((f) => f.id === 1))).find((f) => f.id === 1)).toMatchObject({
      type: 'reply',
      channel: 'big',
      offset: 1,
    });
    await fits.close();
    const tooBig = await WsTestClient.connect(hub.wsUrl);
    tooBig.sendRaw(commandOf(MAX_MESSAGE + 1));
    expect((await tooBig.closed).code).toBe(1009);
    await expectStillServing();
  });

  it('a frame header announcing 2^62 bytes closes with 1009 at once, without waiting for the payload', async () => {
    const upgrade = await rawUpgrade(hub.port);
    const header = Buffer.alloc(14);
    header[0] = 0x81;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(2n ** 62n, 2);
    upgrade.socket.write(header);
    expect(await serverCloseCode(upgrade)).toBe(1009);
    await upgrade.closed;
    await expectStillServing();
  });

  it('a fragment flood (many continuation frames past maxMessageBytes in total) closes with 1009', async () => {
    const upgrade = await rawUpgrade(hub.port);
    const chunk = 'y'.repeat(1000);
    upgrade.socket.write(clientFrame(0x1, chunk, { fin: false }));
    let sent = chunk.length;
    // Well past the limit: the hub must stop at it, not buffer the rest.
    while (sent < MAX_MESSAGE * 4 && !upgrade.socket.destroyed) {
      upgrade.socket.write(clientFrame(0x0, chunk, { fin: false }));
      sent += chunk.length;
    }
    expect(await serverCloseCode(upgrade)).toBe(1009);
    await upgrade.closed;
    await expectStillServing();
  });
});

describe('bad JSON', () => {
  it('non-JSON and truncated JSON get error frames with 1000 and the session carries on', async () => {
    const client = await WsTestClient.connect(hub.wsUrl);
    const from = client.frames.items.length;
    for (const text of ['hello', '{"id":1,', '\u0000', '{"id":1,"type":"ping"}garbage', '']) client.sendRaw(text);
    const frames = await framesUpToPing(client, from);
    expect(frames).toEqual(
      Array.from({ length: 5 }, () => ({ type: 'error', error: { code: ErrorCode.InvalidJson, message: 'frame is not valid JSON' } })),
    );
    await client.close();
  });

  it('100,000-deep JSON gets 1000 on the WebSocket (top level and inside data) and on POST /api/publish', async () => {
    const deepHub = await startHub({ maxMessageBytes: 1024 * 1024 });
    try {
      const client = await WsTestClient.connect(deepHub.wsUrl);
      const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
      const from = client.frames.items.length;
      client.sendRaw(deep);
      client.sendRaw('{"a":'.repeat(100_000));
      client.sendRaw(`{"id":7,"type":"publish","channel":"deep","data":${deep}}`);
      const frames = await framesUpToPing(client, from);
      expect(frames).toEqual(
        Array.from({ length: 3 }, () => ({ type: 'error', error: { code: ErrorCode.InvalidJson, message: 'JSON nests too deeply' } })),
      );
      await client.close();
      const published = await httpRequest(`${deepHub.url}/api/publish`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: `{"channel":"deep","data":${deep}}`,
      });
      expect(published.status).toBe(400);
      expect(published.json.error.code).toBe(ErrorCode.InvalidJson);
      expect((await deepHub.server.hub.position('deep')).offset).toBe(0);
    } finally {
      await deepHub.close();
    }
  });

  it('unknown commands and wrong types get their codes, with the id', async () => {
    const client = await WsTestClient.connect(hub.wsUrl);
    expect((await client.request({ type: 'exec', channel: 'x' })).error.code).toBe(ErrorCode.UnknownCommand);
    expect((await client.request({ type: 42 })).error.code).toBe(ErrorCode.InvalidFrame);
    expect((await client.request({ type: 'subscribe', channel: 42 })).error.code).toBe(ErrorCode.InvalidChannel);
    expect((await client.request({ type: 'history', channel: 'x', limit: 'all' })).error.code).toBe(ErrorCode.InvalidField);
    expect((await client.request({ type: 'auth', token: 7 })).error.code).toBe(ErrorCode.InvalidField);
    await client.close();
  });
});

describe('__proto__ keys', () => {
  it('pollute nothing on the WebSocket, over HTTP or in token claims, and travel as plain data', async () => {
    const client = await WsTestClient.connect(hub.wsUrl);
    await client.request({ type: 'subscribe', channel: 'proto' });
    const raw: string[] = [];
    client.socket.on('message', (data: Buffer) => raw.push(data.toString('utf8')));
    client.sendRaw(
      '{"__proto__":{"polluted":true,"id":99},"id":1,"type":"publish","channel":"proto","data":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}',
    );
    client.sendRaw('{"id":2,"type":"subscribe","channel":"proto2","__proto__":{"joinLeave":true,"polluted":true}}');
    await framesUpToPing(client, 0);
    const published = await publishWith(hub.url, 'proto', JSON.parse('{"__proto__":{"polluted":true}}'));
    expect(published.status).toBe(200);
    await httpRequest(`${hub.url}/api/publish`, {
      method: 'POST',
      body: '{"channel":"proto","data":1,"__proto__":{"polluted":true,"channel":"other"}}',
    });
    const token = await signToken(
      JSON.parse(
        `{"sub":"alice","exp":${Math.floor(Date.now() / 1000) + 60},"__proto__":{"polluted":true},"herald":{"__proto__":{"subscribe":["*"]}}}`,
      ),
    );
    expect((await httpRequest(`${hub.url}/api/messages?channel=proto`, { headers: bearer(token) })).status).toBe(200);
    const authed = await WsTestClient.connect(hub.wsUrl);
    expect((await authed.request({ type: 'auth', token })).user).toBe('alice');
    await authed.close();

    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTOTYPE_KEYS);
    await client.waitForMessages(3, 'proto');
    expect(raw.some((text) => text.includes('"__proto__":{"polluted":true}'))).toBe(true);
    expect(client.messages('proto').at(-1).data).toBe(1);
    await client.close();
    await expectStillServing();
  });
});

describe('slowloris', () => {
  it.each([
    ['a plain request', 'GET /healthz HTTP/1.1\r\nHost: x\r\n'],
    ['a WebSocket upgrade', 'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'],
  ])('%s whose headers trickle in (a line every 500 ms) is cut after headersTimeout (1000 ms), within 3 s', async (_what, start) => {
    const socket = connect(hub.port, '127.0.0.1');
    socket.on('error', () => undefined);
    const began = performance.now();
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now() - began)));
    socket.write(start);
    let line = 0;
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write(`X-Slow-${++line}: still coming\r\n`);
    }, 500);
    const deadline = new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), 3000));
    const outcome = await Promise.race([closed, deadline]);
    clearInterval(trickle);
    socket.destroy();
    expect(outcome).not.toBe('still open');
    expect(outcome).toBeGreaterThanOrEqual(900);
    const response = Buffer.concat(received).toString('latin1');
    // Node says 408; the hub's clientError handler answers every parse error with 400.
    if (response !== '') expect([400, 408]).toContain(statusOf(response));
    await expectStillServing();
  });
});

describe('a peer that never answers', () => {
  /** Resolves with how long `hub.close()` took, or 'still closing' after 3 s. */
  async function timedClose(target: TestHub): Promise<{ outcome: number | 'still closing'; closing: Promise<void> }> {
    const began = performance.now();
    const closing = target.close();
    const outcome = await Promise.race([
      closing.then(() => performance.now() - began),
      new Promise<'still closing'>((resolve) => setTimeout(() => resolve('still closing'), 3000)),
    ]);
    return { outcome, closing };
  }

  it('a WebSocket peer that stops reading does not hold hub.close() beyond about a second', async () => {
    const target = await startHub();
    const upgrade = await rawUpgrade(target.port);
    expect(upgrade.status).toBe(101);
    upgrade.socket.pause();
    const { outcome, closing } = await timedClose(target);
    upgrade.socket.destroy();
    await closing;
    expect(outcome).not.toBe('still closing');
  });

  it('an SSE client that stops reading does not hold hub.close() beyond about a second', async () => {
    const target = await startHub();
    const sse = await SseTestClient.connect(`${target.url}/events?channel=x`);
    await sse.ready();
    sse.response.socket.pause();
    const { outcome, closing } = await timedClose(target);
    await sse.close();
    await closing;
    expect(outcome).not.toBe('still closing');
  });
});
