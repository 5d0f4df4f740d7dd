import { request, type ClientRequest } from 'node:http';
import { ErrorCode } from '@herald/protocol';
import { Collector, SseTestClient, WsTestClient, type TestHub } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JwtAuthenticator } from '@herald/server';
import { bearer, guardSuite, HS_SECRET, startHub, tokenFor } from './suite.js';
import { httpRequest, publishWith } from './wire.js';

/**
 * SSE injection: CR, LF, CRLF and NUL in anything that reaches an SSE stream (published data from
 * every entry point, object keys, a user id shown in presence events) never forge an event, an id
 * or a retry; the raw bytes on the wire hold no CR and no NUL at all. The same characters in a
 * channel name are refused with 1003.
 */

guardSuite();

const NASTY: unknown[] = [
  'a\nevent: forged\ndata: {"type":"message"}\n\n',
  'b\r\nid: 999\r\nretry: 1\r\n\r\n',
  'c\rdata: forged\r\r',
  'd\u0000e\u0000\nid: \u0000',
  '\n\n\n',
  'f\u2028g\u2029h\u0085i',
  { 'k\n\nevent: forged': '\r\n', nested: ['\r', '\n', '\u0000'] },
];
const ALLOWED_LINE = /^(?:data: .*|id: [A-Za-z0-9_.-]+|event: (?:ready|message|gap|join|leave|error|disconnect)|retry: \d+|:.*|)$/;

let hub: TestHub;

beforeAll(async () => {
  hub = await startHub({ security: { authenticator: new JwtAuthenticator({ secret: HS_SECRET }) } });
});

afterAll(async () => {
  await hub.close();
});

/** A raw SSE stream: every byte as sent. */
interface RawStream {
  readonly chunks: Collector<string>;
  text(): string;
  close(): void;
}

function openRaw(path: string): Promise<RawStream> {
  return new Promise((resolve, reject) => {
    const req: ClientRequest = request(`${hub.url}${path}`, { headers: { Accept: 'text/event-stream' } }, (res) => {
      expect(res.statusCode).toBe(200);
      const chunks = new Collector<string>();
      res.setEncoding('latin1');
      res.on('data', (chunk: string) => chunks.push(chunk));
      resolve({ chunks, text: () => chunks.items.join(''), close: () => req.destroy() });
    });
    req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
    req.end();
  });
}

/** Waits for `n` message events in the raw text. */
const rawMessages = async (stream: RawStream, n: number): Promise<void> => {
  await stream.chunks.until(() => stream.text().split('data: {"type":"message"').length - 1 >= n, `${n} raw messages`);
};

function expectCleanBytes(text: string): void {
  expect(text).not.toContain('\r');
  expect(text).not.toContain('\u0000');
  const lines = text.split('\n');
  for (const line of lines.slice(0, -1)) expect(line).toMatch(ALLOWED_LINE);
}

describe('published data with CR, LF, CRLF and NUL', () => {
  it.each([
    ['one-channel', 'inj-one', ''],
    ['two-channel', 'inj-two', '&channel=inj-other'],
  ])('never forges an event on a %s stream, whatever the entry point', async (_what, channel, extra) => {
    const raw = await openRaw(`/events?channel=${channel}${extra}`);
    const parsed = await SseTestClient.connect(`${hub.url}/events?channel=${channel}${extra}`);
    await parsed.ready();
    const ws = await WsTestClient.connect(hub.wsUrl);
    for (const data of NASTY) {
      await hub.server.hub.publish(channel, data);
      expect((await ws.request({ type: 'publish', channel, data })).error).toBeUndefined();
      expect((await publishWith(hub.url, channel, data)).status).toBe(200);
    }
    const expected = NASTY.flatMap((data) => [data, data, data]);
    const got = await parsed.waitForMessages(expected.length);
    expect(got.map((m) => m.data)).toEqual(expected);
    expect(parsed.events.items.map((e) => e.event)).toEqual(expected.map(() => 'message'));
    expect(parsed.retry).not.toBe(1);
    expect(parsed.events.items.every((e) => e.id !== undefined && /^c1\.[A-Za-z0-9_-]+$/.test(e.id))).toBe(true);
    await rawMessages(raw, expected.length);
    expectCleanBytes(raw.text());
    raw.close();
    await Promise.all([parsed.close(), ws.close()]);
  });
});

describe('a user id with CR, LF and NUL', () => {
  it('travels inside presence events as JSON, never as SSE fields', async () => {
    const MALLORY = 'mallory\n\nevent: forged\ndata: {"type":"message"}\r\nid: 1\u0000';
    const mallory = await tokenFor(MALLORY);
    const raw = await openRaw('/events?channel=presence-inj&joinLeave=1');
    const parsed = await SseTestClient.connect(`${hub.url}/events?channel=presence-inj&joinLeave=1`);
    await parsed.ready();
    const ws = await WsTestClient.connect(hub.wsUrl, { headers: bearer(mallory) });
    expect((await ws.request({ type: 'subscribe', channel: 'presence-inj' })).error).toBeUndefined();
    await ws.close();
    const hers = (): { event: string; user: unknown }[] =>
      parsed.events.items.map((e) => ({ event: e.event, user: JSON.parse(e.data).member?.user })).filter((e) => e.user === MALLORY);
    await parsed.events.until(() => hers().length >= 2, 'her join and leave');
    expect(hers().map((e) => e.event)).toEqual(['join', 'leave']);
    expect(parsed.events.items.every((e) => e.event === 'join' || e.event === 'leave')).toBe(true);
    await raw.chunks.until(() => raw.text().includes('event: leave'), 'raw leave');
    expectCleanBytes(raw.text());
    raw.close();
    await parsed.close();
  });
});

describe('a channel name with CR, LF, CRLF or NUL', () => {
  it.each(['a\nevent: forged', 'a\r\nid: 9', 'a\rretry: 1', 'a\u0000b'])(
    '%j is refused with 1003 on SSE, publish and the WebSocket',
    async (name) => {
      const sse = await httpRequest(`${hub.url}/events?channel=${encodeURIComponent(name)}`);
      expect(sse.status).toBe(400);
      expect(sse.headers['content-type']).toMatch(/^application\/json/);
      expect(sse.json.error.code).toBe(ErrorCode.InvalidChannel);
      expect((await publishWith(hub.url, name, 1)).json.error.code).toBe(ErrorCode.InvalidChannel);
      const ws = await WsTestClient.connect(hub.wsUrl);
      expect((await ws.request({ type: 'publish', channel: name, data: 1 })).error.code).toBe(ErrorCode.InvalidChannel);
      await ws.close();
    },
  );
});
