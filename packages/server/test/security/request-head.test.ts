import { connect } from 'node:net';
import { ErrorCode, MAX_CURSOR_LENGTH } from '@herald/protocol';
import { SseTestClient, type TestHub } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHeraldServer, CURSOR_CHARS_PER_CHANNEL, requestHeadBytes } from '@herald/server';
import { guardSuite, startHub } from './suite.js';
import { httpRequest } from './wire.js';

/**
 * The request-head limit agrees with the channel and cursor limits: an SSE reconnect over 128
 * channels of 255 characters, with the `Last-Event-ID` the hub itself sent, fits; a head that does
 * not fit gets `431` with a JSON error (code 1006), never a bare `400`.
 */

guardSuite();

let hub: TestHub;

beforeAll(async () => {
  hub = await startHub();
});

afterAll(async () => {
  await hub.close();
});

/** 128 distinct channel names of 255 characters, with the `:`, `/` and `@` a URL must percent-encode. */
const channels = Array.from({ length: 128 }, (_, i) => `ns:${String(i).padStart(3, '0')}/@${'x'.repeat(247)}`);
const query = (extra: Record<string, string> = {}): string => {
  const params = new URLSearchParams();
  for (const channel of channels) params.append('channel', channel);
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  return params.toString();
};

/** Writes `request` on a fresh TCP connection; resolves with everything sent back until close. */
function rawHttp(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' || error.code === 'EPIPE' ? undefined : reject(error),
    );
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.write(request);
  });
}

describe('SSE reconnect with a long Last-Event-ID', () => {
  it('128 channels of 255 characters: the reconnect with the real Last-Event-ID (and the first cursor still in since) is served and resumes', async () => {
    expect(channels.every((c) => c.length === 255)).toBe(true);
    const first = await SseTestClient.connect(`${hub.url}/events?${query()}`);
    expect(first.response.statusCode).toBe(200);
    await first.ready();
    const since = first.lastEventId;
    await hub.server.hub.publish(channels[5]!, 'one');
    await first.waitForMessages(1);
    const lastEventId = first.lastEventId;
    await first.close();
    await hub.server.hub.publish(channels[77]!, 'two');
    expect(lastEventId.length).toBeGreaterThan(45_000);

    // What an EventSource opened with ?since= sends on its own reconnect: the same URL plus the header.
    const again = await SseTestClient.connect(`${hub.url}/events?${query({ since })}`, { 'Last-Event-ID': lastEventId });
    try {
      expect(again.response.statusCode).toBe(200);
      expect((await again.waitForMessages(1)).map((m) => [m.channel, m.data])).toEqual([[channels[77], 'two']]);
    } finally {
      await again.close();
    }
  });

  it('the budget: 384 raw characters per channel, base64url, are exactly the 65,536-character cursor limit; the default head limit is 262,912 bytes', () => {
    expect(((128 * CURSOR_CHARS_PER_CHANNEL) / 3) * 4).toBe(MAX_CURSOR_LENGTH);
    expect(requestHeadBytes(128)).toBe(262_912);
  });
});

describe('a request head over the limit', () => {
  const body = { error: { code: ErrorCode.TooLarge, message: 'request head larger than 262912 bytes or 200 headers' } };

  it.each([
    ['an SSE request', `GET /events?channel=a HTTP/1.1\r\nHost: x\r\nLast-Event-ID: c1.${'A'.repeat(270_000)}\r\n\r\n`],
    ['a poll with a long URL', `GET /api/messages?channel=a&since=c1.${'A'.repeat(270_000)} HTTP/1.1\r\nHost: x\r\n\r\n`],
    [
      'a WebSocket upgrade',
      `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nCookie: ${'c'.repeat(270_000)}\r\n\r\n`,
    ],
  ])('%s gets 431 with code 1006 and a body any page may read; the hub keeps serving', async (_what, request) => {
    const response = await rawHttp(hub.port, request);
    const [head = '', text = ''] = response.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(head).toMatch(/\r\nAccess-Control-Allow-Origin: \*\r\n/);
    expect(JSON.parse(text)).toEqual(body);
    expect((await httpRequest(`${hub.url}/healthz`)).status).toBe(200);
  });

  it('200 headers get the same 431 (Node would drop the ones past its count)', async () => {
    const headers = Array.from({ length: 200 }, (_, i) => `X-Filler-${i}: ${i}`).join('\r\n');
    const response = await rawHttp(hub.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n\r\n`);
    expect(response).toMatch(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(response.split('\r\n\r\n')[1]!)).toEqual(body);
  });

  it('maxChannels above 128 (the channels a cursor holds) throws RangeError; maxHeaderBytes follows maxChannels unless set', async () => {
    expect(() => createHeraldServer({ maxChannels: 129 })).toThrow(
      new RangeError('maxChannels must be at most 128 (the channels a cursor holds)'),
    );
    expect(() => createHeraldServer({ maxHeaderBytes: 0 })).toThrow(new RangeError('maxHeaderBytes must be an integer > 0'));
    const small = await startHub({ maxChannels: 2 });
    try {
      const response = await rawHttp(
        small.port,
        `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Filler: ${'f'.repeat(requestHeadBytes(2))}\r\n\r\n`,
      );
      expect(JSON.parse(response.split('\r\n\r\n')[1]!).error.message).toBe(
        `request head larger than ${requestHeadBytes(2)} bytes or 200 headers`,
      );
    } finally {
      await small.close();
    }
  });
});
