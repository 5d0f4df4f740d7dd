import { connect } from 'node:net';
import { ErrorCode } from '@herald/protocol';
import { poll, publishHttp, SseTestClient, startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

/**
 * Bad input on every HTTP endpoint and on the WebSocket gets a clear error (exact status and code) or
 * a close code; the process and the other clients carry on. One hub serves the whole file: clients
 * subscribed before any abuse must still receive a message published after all of it.
 */

const PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype);
const WATCHED = 'watched';
const MiB = 1024 * 1024;

let hub: TestHub;
let wsWatcher: WsTestClient;
let sseWatcher: SseTestClient;
let pollCursor: string;
/** Clients a test opened; closed after each test. */
const opened: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  hub = await startTestHub();
  wsWatcher = await WsTestClient.connect(hub.wsUrl);
  const subscribed = await wsWatcher.request({ type: 'subscribe', channel: WATCHED });
  expect(subscribed.error).toBeUndefined();
  sseWatcher = await SseTestClient.connect(`${hub.url}/events?channel=${WATCHED}`);
  expect(sseWatcher.response.statusCode).toBe(200);
  await sseWatcher.ready();
  const first = await poll(hub.url, `channel=${WATCHED}`);
  expect(first.status).toBe(200);
  pollCursor = first.body.cursor;
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((client) => client.close()));
});

afterAll(async () => {
  await Promise.all([wsWatcher.close(), sseWatcher.close()]);
  await hub.close();
});

async function ws(options?: Parameters<typeof WsTestClient.connect>[1]): Promise<WsTestClient> {
  const client = await WsTestClient.connect(hub.wsUrl, options);
  opened.push(client);
  return client;
}

let syncId = 0;
/**
 * Sends raw frames, then a ping, and resolves with every frame that arrived before the ping's reply.
 * Decoding errors are answered synchronously in frame order, so this is the exact answer to `frames`.
 */
async function exchange(client: WsTestClient, ...frames: (string | Buffer)[]): Promise<any[]> {
  const start = client.frames.items.length;
  for (const frame of frames) client.sendRaw(frame);
  const id = `sync-${++syncId}`;
  client.sendRaw(JSON.stringify({ id, type: 'ping' }));
  const isSync = (f: any, i: number): boolean => i >= start && f.type === 'reply' && f.id === id;
  const items = await client.frames.until((fs) => fs.some(isSync), `ping ${id}`);
  const end = items.findIndex(isSync);
  expect(items[end]).toEqual({ type: 'reply', id });
  return items.slice(start, end);
}

/** Sends one raw frame that carries no readable id; asserts it got exactly one `error` frame and resolves with its code. */
async function frameError(client: WsTestClient, frame: string | Buffer): Promise<number> {
  const answer = await exchange(client, frame);
  expect(answer).toHaveLength(1);
  expect(answer[0]).toEqual({ type: 'error', error: { code: expect.any(Number), message: expect.any(String) } });
  return answer[0].error.code;
}

/** Sends a raw frame with id `id` and resolves with the error code of its reply. */
async function replyError(client: WsTestClient, id: number | string, frame: Record<string, unknown>): Promise<number> {
  const answer = await exchange(client, JSON.stringify({ id, ...frame }));
  expect(answer).toHaveLength(1);
  expect(answer[0]).toEqual({ type: 'reply', id, error: { code: expect.any(Number), message: expect.any(String) } });
  return answer[0].error.code;
}

interface HttpAnswer {
  status: number;
  contentType: string | null;
  body: any;
}

async function http(path: string, init: RequestInit = {}): Promise<HttpAnswer> {
  const res = await fetch(`${hub.url}${path}`, init);
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type'), body: text === '' ? undefined : JSON.parse(text) };
}

const publishRaw = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<HttpAnswer> =>
  http('/api/publish', { method: 'POST', headers, body });

function expectHttpError(answer: HttpAnswer, status: number, code: number): void {
  expect({ status: answer.status, body: answer.body }).toEqual({ status, body: { error: { code, message: expect.any(String) } } });
  expect(answer.contentType).toMatch(/^application\/json/);
  expect(answer.body.error.message.length).toBeGreaterThan(0);
}

/** Writes raw bytes on a fresh TCP connection and resolves with everything the server sent back. */
function rawHttp(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(hub.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.write(request);
  });
}

/**
 * Opens a raw TCP connection, completes a WebSocket handshake by hand, writes `frame` (bytes a real
 * client library would refuse to send) and resolves with the close code of the server's close frame.
 */
function rawWebSocketClose(frame: Buffer): Promise<{ handshake: string; closeCode: number | undefined }> {
  return new Promise((resolve, reject) => {
    const socket = connect(hub.port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let handshake: string | undefined;
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (handshake === undefined && received.includes('\r\n\r\n')) {
        handshake = received.subarray(0, received.indexOf('\r\n\r\n')).toString('latin1');
        received = received.subarray(received.indexOf('\r\n\r\n') + 4);
        socket.write(frame);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => {
      // An unmasked server close frame: 0x88, payload length, then the 2-byte code.
      resolve({
        handshake: handshake ?? '',
        closeCode: received[0] === 0x88 && received.length >= 4 ? received.readUInt16BE(2) : undefined,
      });
    });
    socket.write(
      'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
  });
}

/** A masked client frame (RFC 6455 §5.2) with a zero mask key, for payloads under 126 bytes. */
const maskedFrame = (firstByte: number, payload: Buffer): Buffer =>
  Buffer.concat([Buffer.from([firstByte, 0x80 | payload.length, 0, 0, 0, 0]), payload]);

const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;
/** JSON text with a literal `__proto__` key (an object literal would set the prototype instead). */
const PROTO_DATA_TEXT = '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"list":[{"__proto__":{"x":1}}]}';

function expectNoPollution(): void {
  expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(PROTOTYPE_KEYS);
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  expect(({} as Record<string, unknown>)['x']).toBeUndefined();
}

describe('POST /api/publish', () => {
  it.each([
    ['empty body', ''],
    ['plain text', 'hello'],
    ['truncated JSON', '{"channel":"a","data":'],
    ['single quotes', "{'channel':'a','data':1}"],
    ['NaN', '{"channel":"a","data":NaN}'],
  ])('answers 400 with code 1000 for invalid JSON (%s)', async (_name, body) => {
    expectHttpError(await publishRaw(body), 400, ErrorCode.InvalidJson);
  });

  it.each([
    ['a number', '42'],
    ['a string', '"hello"'],
    ['null', 'null'],
    ['an array', '[{"channel":"a","data":1}]'],
  ])('answers 400 with code 1001 for a body that is %s', async (_name, body) => {
    expectHttpError(await publishRaw(body), 400, ErrorCode.InvalidFrame);
  });

  it.each([
    ['missing', {}],
    ['null', { channel: null }],
    ['a number', { channel: 5 }],
    ['an array', { channel: ['a'] }],
    ['empty', { channel: '' }],
    ['256 characters', { channel: 'a'.repeat(256) }],
    ['with NUL', { channel: 'a\u0000b' }],
    ['with CR LF', { channel: 'a\r\nb' }],
    ['with a tab', { channel: 'a\tb' }],
    ['with a space', { channel: 'a b' }],
    ['a wildcard', { channel: 'news.*' }],
    ['with ..', { channel: 'a/../b' }],
  ])('answers 400 with code 1003 for a channel that is %s', async (_name, fields) => {
    expectHttpError(await publishRaw(JSON.stringify({ ...fields, data: 1 })), 400, ErrorCode.InvalidChannel);
  });

  it('accepts a channel of exactly 255 characters', async () => {
    const answer = await publishHttp(hub.url, 'c'.repeat(255), 1);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ channel: 'c'.repeat(255), epoch: expect.any(String), offset: 1 });
  });

  it('answers 400 with code 1005 when data is missing', async () => {
    expectHttpError(await publishRaw('{"channel":"a"}'), 400, ErrorCode.InvalidField);
  });

  it('answers 413 with code 1006 for a body over 1 MiB (declared length)', async () => {
    const body = JSON.stringify({ channel: 'big', data: 'x'.repeat(MiB) });
    expectHttpError(await publishRaw(body), 413, ErrorCode.TooLarge);
    expect((await poll(hub.url, 'channel=big')).body.messages).toEqual([]);
  });

  it('answers 413 with code 1006 for a streamed body over 1 MiB (no length)', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('{"channel":"big","data":"'));
        if (sent > 2 * MiB) {
          controller.enqueue(new TextEncoder().encode('"}'));
          controller.close();
          return;
        }
        controller.enqueue(chunk);
        sent += chunk.length;
      },
    });
    const answer = await http('/api/publish', { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' });
    expectHttpError(answer, 413, ErrorCode.TooLarge);
    expect((await poll(hub.url, 'channel=big')).body.messages).toEqual([]);
  });

  it('accepts a body just under 1 MiB', async () => {
    const prefix = '{"channel":"almost","data":"';
    const body = `${prefix}${'x'.repeat(MiB - prefix.length - 2)}"}`;
    expect(Buffer.byteLength(body)).toBe(MiB);
    const answer = await publishRaw(body);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ channel: 'almost', offset: 1 });
  });

  it('answers 400 with code 1000 for deep nesting, 65 levels or 100,000', async () => {
    expectHttpError(await publishRaw(`{"channel":"deep","data":${nested(64)}}`), 400, ErrorCode.InvalidJson);
    expectHttpError(await publishRaw(`{"channel":"deep","data":${nested(100_000)}}`), 400, ErrorCode.InvalidJson);
    expectHttpError(
      await publishRaw(`{"channel":"deep","data":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`),
      400,
      ErrorCode.InvalidJson,
    );
    const ok = await publishRaw(`{"channel":"deep","data":${nested(63)}}`);
    expect(ok.status).toBe(200);
    const read = await poll(hub.url, 'channel=deep');
    expect(read.body.messages).toHaveLength(1);
    expect(JSON.stringify(read.body.messages[0].data)).toBe(nested(63));
  });

  it('publishes __proto__ keys as plain data, reads them back intact, and pollutes nothing', async () => {
    const sent = await publishRaw(`{"channel":"proto","data":${PROTO_DATA_TEXT}}`);
    expect(sent.status).toBe(200);
    // publishHttp stringifies an own __proto__ property as a key too.
    const viaHelper = await publishHttp(hub.url, 'proto', JSON.parse(PROTO_DATA_TEXT));
    expect(viaHelper.status).toBe(200);
    const read = await poll(hub.url, 'channel=proto');
    expect(read.status).toBe(200);
    expect(read.body.messages).toHaveLength(2);
    for (const message of read.body.messages) {
      expect(Object.prototype.hasOwnProperty.call(message.data, '__proto__')).toBe(true);
      expect(Object.getPrototypeOf(message.data)).toBe(Object.prototype);
      expect(JSON.stringify(message.data)).toBe(PROTO_DATA_TEXT);
    }
    expectNoPollution();
  });

  it('does not read channel or data through a top-level __proto__ key', async () => {
    expectHttpError(await publishRaw('{"__proto__":{"channel":"proto2","data":1}}'), 400, ErrorCode.InvalidChannel);
    expectHttpError(await publishRaw('{"channel":"proto2","__proto__":{"data":1}}'), 400, ErrorCode.InvalidField);
    const extra = await publishRaw('{"channel":"proto2","data":1,"__proto__":{"channel":"elsewhere"}}');
    expect(extra.status).toBe(200);
    expect(extra.body.channel).toBe('proto2');
    expectNoPollution();
  });
});

describe('GET /api/messages', () => {
  it.each([
    ['no channel', ''],
    ['an empty channel', 'channel='],
    ['a channel with a space', 'channel=a%20b'],
    ['a channel with NUL', 'channel=a%00b'],
    ['a channel with a newline', 'channel=a%0Ab'],
    ['a 256-character channel', `channel=${'a'.repeat(256)}`],
    ['a wildcard channel', 'channel=*'],
    ['one bad channel among good ones', 'channel=a&channel=..&channel=b'],
  ])('answers 400 with code 1003 for %s', async (_name, query) => {
    expectHttpError(await http(`/api/messages?${query}`), 400, ErrorCode.InvalidChannel);
  });

  it.each([
    ['garbage', 'garbage'],
    ['a bare offset', '5'],
    ['a bad cursor body', 'c1.%21%21'],
    ['a truncated cursor', 'c1.YXwx'],
  ])('answers 400 with code 1004 for a since that is %s', async (_name, since) => {
    expectHttpError(await http(`/api/messages?channel=a&since=${since}`), 400, ErrorCode.InvalidCursor);
  });

  it.each([
    ['wait=abc', 'wait=abc'],
    ['wait=-1', 'wait=-1'],
    ['wait=61 (over maxWait)', 'wait=61'],
    ['wait=Infinity', 'wait=Infinity'],
    ['wait=NaN', 'wait=NaN'],
    ['limit=0', 'limit=0'],
    ['limit=-5', 'limit=-5'],
    ['limit=1.5', 'limit=1.5'],
    ['limit=1001', 'limit=1001'],
    ['limit=ten', 'limit=ten'],
  ])('answers 400 with code 1005 for %s', async (_name, param) => {
    expectHttpError(await http(`/api/messages?channel=a&${param}`), 400, ErrorCode.InvalidField);
  });

  it('answers 400 with code 1009 for more than 128 channels, and counts duplicates once', async () => {
    const many = Array.from({ length: 129 }, (_, i) => `channel=m${i}`).join('&');
    expectHttpError(await http(`/api/messages?${many}`), 400, ErrorCode.LimitExceeded);
    const duplicates = Array.from({ length: 200 }, (_, i) => `channel=m${i % 128}`).join('&');
    expect((await http(`/api/messages?${duplicates}`)).status).toBe(200);
  });
});

describe('GET /events', () => {
  const sseError = async (query: string, headers: Record<string, string> = {}): Promise<HttpAnswer> => {
    const before = hub.server.stats().sse;
    const answer = await http(`/events?${query}`, { headers: { accept: 'text/event-stream', ...headers } });
    expect(hub.server.stats().sse).toBe(before);
    return answer;
  };

  it.each([
    ['no channel', ''],
    ['an empty channel', 'channel='],
    ['a channel with CR LF', 'channel=a%0D%0Ab'],
    ['a 256-character channel', `channel=${'a'.repeat(256)}`],
    ['a channel with ..', 'channel=..'],
  ])('answers 400 JSON with code 1003 and no stream for %s', async (_name, query) => {
    expectHttpError(await sseError(query), 400, ErrorCode.InvalidChannel);
  });

  it('answers 400 JSON with code 1004 for a bad since or a bad Last-Event-ID', async () => {
    expectHttpError(await sseError('channel=a&since=garbage'), 400, ErrorCode.InvalidCursor);
    expectHttpError(await sseError('channel=a', { 'last-event-id': 'garbage' }), 400, ErrorCode.InvalidCursor);
    expectHttpError(await sseError('channel=a', { 'last-event-id': 'c1.!!' }), 400, ErrorCode.InvalidCursor);
  });

  it('answers 400 JSON with code 1009 for more than 128 channels', async () => {
    const many = Array.from({ length: 129 }, (_, i) => `channel=s${i}`).join('&');
    expectHttpError(await sseError(many), 400, ErrorCode.LimitExceeded);
  });
});

describe('routing and malformed HTTP', () => {
  it.each([
    ['GET', '/nope'],
    ['GET', '/api'],
    ['POST', '/api/publish/extra'],
    ['GET', '/events/x'],
    ['DELETE', '/../../etc/passwd'],
  ])('answers 404 JSON with code 1010 for %s %s', async (method, path) => {
    expectHttpError(await http(path, { method }), 404, ErrorCode.NotFound);
  });

  it.each([
    ['GET', '/api/publish', 'POST'],
    ['PUT', '/api/publish', 'POST'],
    ['POST', '/api/messages', 'GET'],
    ['DELETE', '/events', 'GET'],
    ['POST', '/healthz', 'GET,HEAD'],
    ['POST', '/livez', 'GET,HEAD'],
    ['PUT', '/readyz', 'GET,HEAD'],
  ])('answers 405 JSON with code 1011 and Allow for %s %s', async (method, path, allow) => {
    const res = await fetch(`${hub.url}${path}`, { method, body: method === 'GET' ? null : '{}' });
    const body = await res.json();
    expect({ status: res.status, allow: res.headers.get('allow'), body }).toEqual({
      status: 405,
      allow,
      body: { error: { code: ErrorCode.MethodNotAllowed, message: expect.any(String) } },
    });
  });

  it('answers 400 to a malformed request on a raw TCP connection, and keeps serving', async () => {
    expect(await rawHttp('GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await rawHttp('GET / HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await rawHttp('POST /api/publish HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await rawHttp('\u0000\u0001\u0002\u00ff\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect((await http('/healthz')).status).toBe(200);
  });

  it('answers 400 JSON with code 1005 to a request URL that cannot be parsed', async () => {
    const answer = await rawHttp('GET // HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({
      error: { code: ErrorCode.InvalidField, message: expect.any(String) },
    });
  });

  it('answers 4xx to a flood of headers, and keeps serving', async () => {
    const headers = Array.from({ length: 3000 }, (_, i) => `X-Flood-${i}: ${'v'.repeat(20)}\r\n`).join('');
    expect(await rawHttp(`GET /healthz HTTP/1.1\r\nHost: x\r\n${headers}\r\n`)).toMatch(/^HTTP\/1\.1 4\d\d /);
    expect((await http('/healthz')).status).toBe(200);
  });

  it('answers 400 JSON to a plain GET of /ws', async () => {
    expectHttpError(await http('/ws'), 400, ErrorCode.InvalidField);
  });
});

describe('WebSocket', () => {
  it('answers non-JSON text with an error frame of code 1000', async () => {
    const client = await ws();
    for (const text of ['hello', '', '{', '{"id":1,"type":"ping"', "{'id':1}", '{"id":1,"type":"ping"}{}']) {
      expect(await frameError(client, text)).toBe(ErrorCode.InvalidJson);
    }
  });

  it('answers a binary frame with an error frame of code 1001', async () => {
    const client = await ws();
    expect(await frameError(client, Buffer.from(JSON.stringify({ id: 1, type: 'ping' })))).toBe(ErrorCode.InvalidFrame);
    expect(await frameError(client, Buffer.from([0, 1, 2, 255]))).toBe(ErrorCode.InvalidFrame);
  });

  it('answers JSON that is not a command object, or has no valid id, with an error frame of code 1001', async () => {
    const client = await ws();
    const frames = ['42', '"ping"', 'null', 'true', '[]', '[{"id":1,"type":"ping"}]', '{}'];
    for (const id of [null, -1, 1.5, 2 ** 53, true, {}, [1], '', 'x'.repeat(65)]) frames.push(JSON.stringify({ id, type: 'ping' }));
    for (const frame of frames) expect(await frameError(client, frame), frame).toBe(ErrorCode.InvalidFrame);
  });

  it('answers an unknown command with a reply of the same id and code 1002', async () => {
    const client = await ws();
    expect(await replyError(client, 41, { type: 'explode' })).toBe(ErrorCode.UnknownCommand);
    expect(await replyError(client, 'my-id', { type: 'SUBSCRIBE', channel: 'a' })).toBe(ErrorCode.UnknownCommand);
    expect(await replyError(client, 42, { type: '__proto__' })).toBe(ErrorCode.UnknownCommand);
    expect(await replyError(client, 43, { type: 'constructor' })).toBe(ErrorCode.UnknownCommand);
  });

  it('answers a non-string type with code 1001 and the id', async () => {
    const client = await ws();
    for (const type of [undefined, 1, null, ['ping'], { ping: true }]) {
      expect(await replyError(client, 50, type === undefined ? {} : { type })).toBe(ErrorCode.InvalidFrame);
    }
  });

  it('answers a bad channel with code 1003, for every command that takes one', async () => {
    const client = await ws();
    const badChannels = [undefined, 5, null, ['a'], { a: 1 }, '', 'a'.repeat(256), 'a b', 'a\u0000b', 'a\nb', 'news.*', 'a/../b'];
    for (const type of ['subscribe', 'unsubscribe', 'publish', 'history', 'presence']) {
      for (const channel of badChannels) {
        const frame = { type, ...(channel !== undefined && { channel }), ...(type === 'publish' && { data: 1 }) };
        expect(await replyError(client, 60, frame), JSON.stringify(frame)).toBe(ErrorCode.InvalidChannel);
      }
    }
  });

  it('answers a bad since with code 1004, on subscribe and history', async () => {
    const client = await ws();
    const badSince = [
      5,
      true,
      [],
      {},
      'garbage',
      '',
      { epoch: '', offset: 1 },
      { epoch: 'e', offset: -1 },
      { epoch: 'e', offset: 1.5 },
      { epoch: 'e', offset: '1' },
    ];
    for (const type of ['subscribe', 'history']) {
      for (const since of badSince)
        expect(await replyError(client, 70, { type, channel: 'a', since }), JSON.stringify(since)).toBe(ErrorCode.InvalidCursor);
    }
  });

  it('answers a bad joinLeave, a bad limit or a publish without data with code 1005', async () => {
    const client = await ws();
    for (const joinLeave of ['yes', 1, null, {}])
      expect(await replyError(client, 80, { type: 'subscribe', channel: 'a', joinLeave })).toBe(ErrorCode.InvalidField);
    for (const limit of [0, -1, 1.5, 1001, '10', null, true])
      expect(await replyError(client, 81, { type: 'history', channel: 'a', limit })).toBe(ErrorCode.InvalidField);
    expect(await replyError(client, 82, { type: 'publish', channel: 'a' })).toBe(ErrorCode.InvalidField);
    // None of these subscribed: a valid subscribe to the same channel still works.
    const ok = await client.request({ type: 'subscribe', channel: 'a' });
    expect(ok.error).toBeUndefined();
  });

  it('answers deep nesting with code 1000', async () => {
    const client = await ws();
    expect(await frameError(client, `{"id":1,"type":"publish","channel":"deep-ws","data":${nested(64)}}`)).toBe(ErrorCode.InvalidJson);
    expect(await frameError(client, `{"id":1,"type":"publish","channel":"deep-ws","data":${nested(30_000)}}`)).toBe(ErrorCode.InvalidJson);
    expect(await frameError(client, '['.repeat(60_000))).toBe(ErrorCode.InvalidJson);
    const ok = await client.request({ type: 'publish', channel: 'deep-ws', data: JSON.parse(nested(63)) });
    expect(ok).toEqual({ type: 'reply', id: expect.any(Number), channel: 'deep-ws', epoch: expect.any(String), offset: 1 });
  });

  it('treats __proto__ keys as plain data: delivered intact, never a command field, no pollution', async () => {
    const client = await ws();
    const subscriber = await ws();
    expect((await subscriber.request({ type: 'subscribe', channel: 'proto-ws' })).error).toBeUndefined();
    expect(await frameError(client, '{"__proto__":{"id":1,"type":"ping"}}')).toBe(ErrorCode.InvalidFrame);
    expect(await replyError(client, 90, JSON.parse('{"type":"publish","__proto__":{"channel":"proto-ws","data":1}}'))).toBe(
      ErrorCode.InvalidChannel,
    );
    client.sendRaw(`{"id":91,"type":"publish","channel":"proto-ws","data":${PROTO_DATA_TEXT},"__proto__":{"channel":"elsewhere"}}`);
    const published = (await client.frames.until((fs) => fs.some((f) => f.id === 91), 'publish reply')).find((f) => f.id === 91);
    expect(published).toEqual({ type: 'reply', id: 91, channel: 'proto-ws', epoch: expect.any(String), offset: 1 });
    const [message] = await subscriber.waitForMessages(1, 'proto-ws');
    expect(Object.prototype.hasOwnProperty.call(message.data, '__proto__')).toBe(true);
    expect(JSON.stringify(message.data)).toBe(PROTO_DATA_TEXT);
    expectNoPollution();
  });

  it('accepts a frame of exactly 64 KiB', async () => {
    const client = await ws();
    const prefix = '{"id":"max","type":"publish","channel":"max-frame","data":"';
    const frame = `${prefix}${'x'.repeat(64 * 1024 - prefix.length - 2)}"}`;
    expect(Buffer.byteLength(frame)).toBe(64 * 1024);
    client.sendRaw(frame);
    const frames = await client.frames.until((fs) => fs.some((f) => f.id === 'max'), 'publish reply');
    expect(frames.find((f) => f.id === 'max')).toEqual({
      type: 'reply',
      id: 'max',
      channel: 'max-frame',
      epoch: expect.any(String),
      offset: 1,
    });
  });

  it('closes with 1009 on a frame over 64 KiB', async () => {
    const client = await ws();
    client.sendRaw(`{"id":1,"type":"publish","channel":"big","data":"${'x'.repeat(64 * 1024)}"}`);
    expect((await client.closed).code).toBe(1009);
  });

  it('closes with 1009 on a message over 64 KiB sent as many small fragments', async () => {
    // Uncompressed fragments: ws counts them as they come. A compressed fragmented message is
    // inflated whole at its last fragment (test/compression/ws-deflate.test.ts).
    const client = await ws({ perMessageDeflate: false });
    const fragment = 'x'.repeat(4096);
    for (let i = 0; i < 20; i++) client.socket.send(fragment, { fin: false });
    expect((await client.closed).code).toBe(1009);
  });

  it('closes with 1007 on a text frame that is not UTF-8', async () => {
    const client = await ws();
    client.socket.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await client.closed).code).toBe(1007);
  });

  it('closes with 1002 on malformed frames: unmasked, reserved bits, unknown opcode, fragmented control frame', async () => {
    const ping = Buffer.from('{"id":1,"type":"ping"}');
    const closedWith1002 = { handshake: expect.stringMatching(/^HTTP\/1\.1 101 /), closeCode: 1002 };
    expect(await rawWebSocketClose(Buffer.concat([Buffer.from([0x81, ping.length]), ping]))).toEqual(closedWith1002);
    expect(await rawWebSocketClose(maskedFrame(0xc1, ping))).toEqual(closedWith1002);
    expect(await rawWebSocketClose(maskedFrame(0x83, ping))).toEqual(closedWith1002);
    expect(await rawWebSocketClose(maskedFrame(0x09, Buffer.from('x')))).toEqual(closedWith1002);
  });

  it('answers a second subscribe to the same channel with code 1007', async () => {
    const client = await ws();
    expect((await client.request({ type: 'subscribe', channel: 'twice' })).error).toBeUndefined();
    const again = await client.request({ type: 'subscribe', channel: 'twice' });
    expect(again.error.code).toBe(ErrorCode.AlreadySubscribed);
    // Pipelined subscribes: exactly one wins.
    const [a, b] = await Promise.all([
      client.request({ type: 'subscribe', channel: 'twice-2' }),
      client.request({ type: 'subscribe', channel: 'twice-2' }),
    ]);
    expect([a.error?.code, b.error?.code].sort()).toEqual([ErrorCode.AlreadySubscribed, undefined]);
    // Still subscribed once: one publish gives exactly one message.
    await publishHttp(hub.url, 'twice', 'once');
    await client.waitForMessages(1, 'twice');
    const sync = await client.request({ type: 'ping' });
    expect(sync.error).toBeUndefined();
    expect(client.messages('twice')).toHaveLength(1);
  });

  it('answers unsubscribe from a channel not subscribed with code 1008', async () => {
    const client = await ws();
    expect((await client.request({ type: 'unsubscribe', channel: 'never' })).error.code).toBe(ErrorCode.NotSubscribed);
    expect((await client.request({ type: 'subscribe', channel: 'once' })).error).toBeUndefined();
    expect((await client.request({ type: 'unsubscribe', channel: 'once' })).error).toBeUndefined();
    expect((await client.request({ type: 'unsubscribe', channel: 'once' })).error.code).toBe(ErrorCode.NotSubscribed);
  });

  it('answers the 129th channel subscription with code 1009, and frees a slot on unsubscribe', async () => {
    const client = await ws();
    const replies = await Promise.all(Array.from({ length: 128 }, (_, i) => client.request({ type: 'subscribe', channel: `limit-${i}` })));
    expect(replies.filter((r) => r.error !== undefined)).toEqual([]);
    const over = await client.request({ type: 'subscribe', channel: 'limit-128' });
    expect(over.error).toEqual({ code: ErrorCode.LimitExceeded, message: expect.any(String) });
    expect((await client.request({ type: 'unsubscribe', channel: 'limit-0' })).error).toBeUndefined();
    expect((await client.request({ type: 'subscribe', channel: 'limit-128' })).error).toBeUndefined();
  });

  it('keeps a connection open and working after a burst of bad frames', async () => {
    const client = await ws();
    const bad = ['nope', '[]', '{"id":"b1"}', '{"id":"b2","type":"x"}', '{"id":"b3","type":"subscribe","channel":""}', Buffer.from([1])];
    const answer = await exchange(client, ...bad);
    expect(answer.map((f) => f.error.code)).toEqual([1000, 1001, 1001, 1002, 1003, 1001]);
    expect((await client.request({ type: 'subscribe', channel: 'after-burst' })).error).toBeUndefined();
    await publishHttp(hub.url, 'after-burst', 'still here');
    expect((await client.waitForMessages(1, 'after-burst'))[0].data).toBe('still here');
  });
});

describe('after all of the above', () => {
  it('the process is healthy, unpolluted, and clients subscribed before the abuse still receive', async () => {
    expect(await http('/healthz')).toEqual({
      status: 200,
      contentType: expect.stringMatching(/^application\/json/),
      body: { status: 'ok' },
    });
    expectNoPollution();
    const published = await publishHttp(hub.url, WATCHED, { after: 'abuse' });
    expect(published.status).toBe(200);
    const [viaWs] = await wsWatcher.waitForMessages(1, WATCHED);
    expect(viaWs).toMatchObject({ type: 'message', channel: WATCHED, offset: published.body.offset, data: { after: 'abuse' } });
    const [viaSse] = await sseWatcher.waitForMessages(1);
    expect(viaSse).toMatchObject({ type: 'message', channel: WATCHED, offset: published.body.offset, data: { after: 'abuse' } });
    const viaPoll = await poll(hub.url, `channel=${WATCHED}&since=${pollCursor}`);
    expect(viaPoll.status).toBe(200);
    expect(viaPoll.body.messages).toEqual([viaWs]);
    // The watchers got nothing else: no error frames, no stray events.
    expect(wsWatcher.frames.items.filter((f) => f.type !== 'reply' && f.type !== 'message')).toEqual([]);
    expect(wsWatcher.messages()).toHaveLength(1);
    expect(sseWatcher.events.items).toHaveLength(1);
  });
});
