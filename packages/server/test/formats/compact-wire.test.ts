import { request } from 'node:http';
import { decode, encode } from '@msgpack/msgpack';
import { encodePosition, ErrorCode } from '@herald/protocol';
import { poll, SseTestClient, startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The compact envelope and MessagePack on the wire: the exact bytes of each push, refs, when the
 * epoch travels, bad input, and the bytes one delivery of a 100-byte payload costs in each format.
 */

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  await hub.close();
});

let unique = 0;
const channel = (name: string): string => `${name}-${++unique}`;
const q = encodeURIComponent;

describe('herald.compact on the WebSocket', () => {
  it('answers subscribe with a ref (the lowest free one) and pushes [ref, offset, time, data]', async () => {
    const [a, b, c] = [channel('a'), channel('b'), channel('c')];
    const ws = await WsTestClient.connect(hub.wsUrl, undefined, 'compact');
    const ra = await ws.request({ type: 'subscribe', channel: a });
    const rb = await ws.request({ type: 'subscribe', channel: b });
    expect([ra.ref, rb.ref]).toEqual([0, 1]);
    expect(ra).toEqual({ type: 'reply', id: ra.id, channel: a, position: ra.position, cursor: ra.cursor, ref: 0 });
    await ws.request({ type: 'unsubscribe', channel: a });
    expect((await ws.request({ type: 'subscribe', channel: c })).ref).toBe(0);
    const stored = await hub.server.hub.publish(b, { x: 1 });
    await ws.waitForMessages(1);
    const raw = ws.raw.at(-1)!;
    expect(raw.binary).toBe(false);
    const time = (ws.messages().at(-1) as { time: number }).time;
    expect(raw.bytes.toString()).toBe(`[1,${stored.offset},${time},{"x":1}]`);
    expect(ws.messages().at(-1)).toEqual({ type: 'message', channel: b, offset: 1, epoch: rb.position.epoch, time, data: { x: 1 } });
    await ws.close();
  });

  it('keeps replies, gaps and errors as JSON objects; binary frames are refused as in JSON', async () => {
    const ws = await WsTestClient.connect(hub.wsUrl, undefined, 'compact');
    ws.sendRaw(Buffer.from([1, 2, 3]));
    await ws.frames.until((fs) => fs.some((f) => f.type === 'error'), 'error');
    expect(ws.frames.items.at(-1)).toEqual({ type: 'error', error: { code: ErrorCode.InvalidFrame, message: expect.any(String) } });
    await ws.close();
  });
});

describe('herald.msgpack on the WebSocket', () => {
  it('sends every frame binary: replies as maps, pushes as the compact array with the data converted from JSON', async () => {
    const name = channel('m');
    const ws = await WsTestClient.connect(hub.wsUrl, undefined, 'msgpack');
    const reply = await ws.request({ type: 'subscribe', channel: name });
    expect(reply.ref).toBe(0);
    const published = await ws.request({ type: 'publish', channel: name, data: { n: 1.5, s: 'é', list: [true, null] } });
    expect(published).toMatchObject({ type: 'reply', channel: name, offset: 1 });
    await ws.waitForMessages(1);
    expect(ws.raw.every((frame) => frame.binary)).toBe(true);
    const push = ws.raw.find((frame) => Array.isArray(decode(frame.bytes)))!;
    const time = ws.messages()[0].time as number;
    expect(push.bytes).toEqual(Buffer.from(encode([0, 1, time, { n: 1.5, s: 'é', list: [true, null] }])));
    await ws.close();
  });

  it('answers history with the full envelopes, as JSON does', async () => {
    const name = channel('h');
    for (let i = 1; i <= 3; i++) await hub.server.hub.publish(name, { i });
    const ws = await WsTestClient.connect(hub.wsUrl, undefined, 'msgpack');
    const history = await ws.request({ type: 'history', channel: name });
    expect(history.messages.map((m: { data: unknown }) => m.data)).toEqual([{ i: 1 }, { i: 2 }, { i: 3 }]);
    expect(history.messages[0]).toMatchObject({ type: 'message', channel: name, offset: 1 });
    expect(history).toMatchObject({ type: 'reply', channel: name, position: { offset: 3 } });
    await ws.close();
  });

  const refusals: [string, Buffer | string, number, string][] = [
    [
      'a text frame',
      '{"type":"ping","id":1}',
      ErrorCode.InvalidFrame,
      'text frames are not supported with herald.msgpack; send MessagePack binary frames',
    ],
    ['bytes that are not MessagePack', Buffer.from([0xc1]), ErrorCode.InvalidJson, 'frame is not valid MessagePack'],
    [
      'two values in one frame',
      Buffer.concat([encode({ type: 'ping', id: 1 }), encode(1)]),
      ErrorCode.InvalidJson,
      'frame is not valid MessagePack',
    ],
    [
      'a binary value',
      Buffer.from(encode({ type: 'publish', id: 1, channel: 'x', data: new Uint8Array(3) })),
      ErrorCode.InvalidJson,
      'MessagePack frames may hold only maps, arrays, strings, numbers, booleans and nil',
    ],
    [
      'a timestamp',
      Buffer.from(encode({ type: 'publish', id: 1, channel: 'x', data: new Date(0) })),
      ErrorCode.InvalidJson,
      'MessagePack frames may hold only maps, arrays, strings, numbers, booleans and nil',
    ],
    [
      'nesting 65 deep',
      Buffer.concat([Buffer.alloc(65, 0x91), Buffer.from([0x01])]),
      ErrorCode.InvalidJson,
      'MessagePack nests too deeply',
    ],
    [
      'nesting 50,000 deep',
      Buffer.concat([Buffer.alloc(50_000, 0x91), Buffer.from([0x01])]),
      ErrorCode.InvalidJson,
      'MessagePack nests too deeply',
    ],
    [
      'a __proto__ key',
      Buffer.from([0x81, 0xa9, ...Buffer.from('__proto__'), 0x80]),
      ErrorCode.InvalidJson,
      'frame is not valid MessagePack',
    ],
    ['an array', Buffer.from(encode([1, 2])), ErrorCode.InvalidFrame, 'frame must be a JSON object'],
  ];
  it.each(refusals)('answers %s with an error frame and stays open', async (_what, frame, code, message) => {
    const ws = await WsTestClient.connect(hub.wsUrl, { maxPayload: 1 << 20 }, 'msgpack');
    ws.sendRaw(frame);
    const [error] = await ws.frames.until((fs) => fs.some((f) => f.type === 'error'), 'error');
    expect(error).toEqual({ type: 'error', error: { code, message } });
    expect((await ws.request({ type: 'ping' })).type).toBe('reply');
    await ws.close();
  });
});

describe('format=compact on SSE and polling', () => {
  it('SSE: each message is data:[ref, offset, time, data] with no id:, ref = index among the channels', async () => {
    const [a, b] = [channel('sa'), channel('sb')];
    const sse = await SseTestClient.connect(`${hub.url}/events?channel=${a}&channel=${b}&format=compact`);
    await sse.ready();
    await hub.server.hub.publish(b, 'to b');
    await hub.server.hub.publish(a, 'to a');
    const [mb, ma] = await sse.waitForMessages(2);
    expect(sse.events.items.map((e) => [e.data, e.id])).toEqual([
      [`[1,1,${mb.time},"to b"]`, undefined],
      [`[0,1,${ma.time},"to a"]`, undefined],
    ]);
    expect(ma).toMatchObject({ type: 'message', channel: a, offset: 1, data: 'to a' });
    await sse.close();
  });

  it('SSE: the epoch travels only when it differs from the one the client holds', async () => {
    const name = channel('se');
    await hub.server.hub.publish(name, 1);
    const { epoch } = await hub.server.hub.position(name);
    // A cursor of another epoch: the gap names the new one, the messages then carry none.
    const old = encodePosition(name, { epoch: 'old-epoch', offset: 1 });
    const sse = await SseTestClient.connect(`${hub.url}/events?channel=${name}&since=${q(old)}&format=compact`);
    await sse.waitForMessages(1);
    const [gap, message] = sse.events.items;
    expect(gap!.event).toBe('gap');
    expect(gap!.id).toMatch(/^c1\./);
    expect(JSON.parse(message!.data)).toHaveLength(4);
    expect(sse.messages()[0]).toMatchObject({ epoch, offset: 1, data: 1 });
    await sse.close();
  });

  it('polling: messages holds compact items; the first carries the epoch when the request had none', async () => {
    const [a, b] = [channel('pa'), channel('pb')];
    await hub.server.hub.publish(a, 'a1');
    await hub.server.hub.publish(b, 'b1');
    await hub.server.hub.publish(a, 'a2');
    const { epoch } = await hub.server.hub.position(a);
    const first = await poll(hub.url, `channel=${a}&channel=${b}&format=compact`);
    const [i1, i2, i3] = first.body.messages as unknown[][];
    expect(i1).toEqual([0, 1, expect.any(Number), 'a1', epoch]);
    expect(i2).toEqual([0, 2, expect.any(Number), 'a2']);
    expect(i3).toEqual([1, 1, expect.any(Number), 'b1', (await hub.server.hub.position(b)).epoch]);
    await hub.server.hub.publish(a, 'a3');
    const next = await poll(hub.url, `channel=${a}&channel=${b}&format=compact&since=${q(first.body.cursor)}`);
    expect(next.body.messages).toEqual([[0, 3, expect.any(Number), 'a3']]);
    const held = poll(hub.url, `channel=${a}&format=compact&wait=20&since=${q(next.body.cursor)}`);
    await expect.poll(() => hub.server.stats().polling).toBe(1);
    await hub.server.hub.publish(a, 'a4');
    expect((await held).body.messages).toEqual([[0, 4, expect.any(Number), 'a4']]);
  });

  it.each(['/events', '/api/messages'])('%s refuses an unknown format with 400 and code 1005', async (path) => {
    const res = await fetch(`${hub.url}${path}?channel=x&format=cbor`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: ErrorCode.InvalidField, message: 'format must be json or compact' } });
  });
});

/** A 100-byte payload: the JSON text of the data is exactly 100 bytes. */
const PAYLOAD = { text: 'x'.repeat(89) };
const COUNT = 20;
const wsHeader = (length: number): number => (length < 126 ? 2 : length < 65_536 ? 4 : 10);

/** Bytes on the wire per delivered message (WebSocket frames with their headers). */
async function wsBytes(format: 'json' | 'compact' | 'msgpack'): Promise<number> {
  const name = channel('bytes');
  const ws = await WsTestClient.connect(hub.wsUrl, undefined, format);
  await ws.request({ type: 'subscribe', channel: name });
  const before = ws.raw.length;
  for (let i = 0; i < COUNT; i++) await hub.server.hub.publish(name, PAYLOAD);
  await ws.waitForMessages(COUNT);
  const frames = ws.raw.slice(before);
  await ws.close();
  return frames.reduce((sum, frame) => sum + frame.bytes.length + wsHeader(frame.bytes.length), 0) / COUNT;
}

/** Bytes of the SSE body per delivered message (after the `ready` event). */
async function sseBytes(format: 'json' | 'compact'): Promise<number> {
  const name = channel('bytes');
  let body = '';
  const req = request(`${hub.url}/events?channel=${name}${format === 'compact' ? '&format=compact' : ''}`);
  const res = await new Promise<import('node:http').IncomingMessage>((resolve) => req.on('response', resolve).end());
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => (body += chunk));
  await expect.poll(() => body.includes('event: ready')).toBe(true);
  const start = Buffer.byteLength(body);
  for (let i = 0; i < COUNT; i++) await hub.server.hub.publish(name, PAYLOAD);
  await expect.poll(() => body.split('\n\n').length - 2).toBeGreaterThanOrEqual(COUNT);
  req.destroy();
  return (Buffer.byteLength(body) - start) / COUNT;
}

describe('bytes per delivery of a 100-byte payload', () => {
  it('compact costs at most 30 % over the payload on WebSocket and SSE; msgpack less than JSON', async () => {
    expect(JSON.stringify(PAYLOAD)).toHaveLength(100);
    const bytes = {
      ws: { json: await wsBytes('json'), compact: await wsBytes('compact'), msgpack: await wsBytes('msgpack') },
      sse: { json: await sseBytes('json'), compact: await sseBytes('compact') },
    };
    if (process.env['HERALD_PRINT_BYTES'] !== undefined) console.log(JSON.stringify(bytes));
    expect(bytes.ws.compact).toBeLessThanOrEqual(130);
    expect(bytes.sse.compact).toBeLessThanOrEqual(130);
    expect(bytes.ws.msgpack).toBeLessThanOrEqual(130);
    expect(bytes.ws.json).toBeGreaterThan(bytes.ws.compact);
    expect(bytes.sse.json).toBeGreaterThan(bytes.sse.compact);
  });
});

describe("a compact SSE stream's cursor", () => {
  it('goes as an id-only event at the heartbeat once positions moved, and a reconnect with it resumes after', async () => {
    const fast = await startTestHub({ heartbeatInterval: 50 });
    try {
      const name = channel('hb');
      const sse = await SseTestClient.connect(`${fast.url}/events?channel=${name}&format=compact`);
      await sse.ready();
      const start = sse.lastEventId;
      await fast.server.hub.publish(name, 1);
      await fast.server.hub.publish(name, 2);
      await sse.waitForMessages(2);
      // The messages carry no id; the next heartbeat does, without an event.
      expect(sse.events.items.map((e) => e.id)).toEqual([undefined, undefined]);
      await expect.poll(() => sse.lastEventId).not.toBe(start);
      const { epoch } = await fast.server.hub.position(name);
      expect(sse.lastEventId).toBe(encodePosition(name, { epoch, offset: 2 }));
      expect(sse.events.items).toHaveLength(2);
      await sse.close();
      await fast.server.hub.publish(name, 3);
      const again = await SseTestClient.connect(`${fast.url}/events?channel=${name}&format=compact`, { 'last-event-id': sse.lastEventId });
      expect((await again.waitForMessages(1)).map((m: { offset: number }) => m.offset)).toEqual([3]);
      await again.close();
    } finally {
      await fast.close();
    }
  });
});
