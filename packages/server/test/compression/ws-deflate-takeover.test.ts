import { WsTestClient } from '@herald/testkit';
import { createHook } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { constants, createDeflateRaw, DeflateRaw, inflateRawSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { dataFrames, isCompressed, rawWsScope, type RawFrame } from './raw-ws.js';

const OFFER = 'permessage-deflate; client_max_window_bits';
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const TAKEOVER = { compression: { contextTakeover: true } } as const;

/** A dashboard-like payload: 20 rows whose values move a little from one message to the next. */
const dashboard = (i: number): unknown => ({
  rows: Array.from({ length: 20 }, (_, j) => ({
    id: j,
    name: `sensor-${j}`,
    value: Math.round(Math.sin(i + j) * 10_000) / 100,
    status: (i + j) % 7 ? 'ok' : 'warn',
  })),
});

/**
 * The texts of a session's data frames, decoded as a client with context takeover does: every
 * compressed frame continues one DEFLATE stream (each ended by the tail `00 00 ff ff` put back);
 * plain frames stand alone. `windowBits`: the window the client inflates with.
 */
function decodeInOrder(frames: RawFrame[], windowBits = 15): string[] {
  const texts: string[] = [];
  const stream: Buffer[] = [];
  let decoded = 0;
  for (const frame of dataFrames(frames)) {
    if (!isCompressed(frame)) {
      texts.push(frame.payload.toString('utf8'));
      continue;
    }
    stream.push(frame.payload, TAIL);
    const all = inflateRawSync(Buffer.concat(stream), { finishFlush: constants.Z_SYNC_FLUSH, windowBits });
    texts.push(all.subarray(decoded).toString('utf8'));
    decoded = all.length;
  }
  return texts;
}

/** 100 KB that deflates to almost nothing, or 100 KB of random text that deflates to more than the compressor's 64 KB output buffer. */
const blob = (i: number): string => (i % 2 === 0 ? 'x'.repeat(100_000 + i) : randomBytes(75_000).toString('base64'));

/**
 * What a compressor with context takeover of `windowBits` (the hub's level 6 and memLevel 4) makes
 * of `texts` in turn: each flushed with Z_SYNC_FLUSH, its tail dropped.
 */
async function referencePayloads(texts: string[], windowBits: number): Promise<Buffer[]> {
  const deflate = createDeflateRaw({ windowBits, memLevel: 4, level: 6 });
  const out: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => out.push(chunk));
  const payloads: Buffer[] = [];
  for (const text of texts) {
    deflate.write(text);
    await new Promise<void>((resolve) => deflate.flush(constants.Z_SYNC_FLUSH, () => resolve()));
    const whole = Buffer.concat(out.splice(0));
    payloads.push(whole.subarray(0, whole.length - 4));
  }
  deflate.close();
  return payloads;
}

/** The parameters a `ws` client's permessage-deflate extension accepted from the hub's answer. */
const acceptedParams = (client: WsTestClient): Record<string, unknown> =>
  (client.socket as unknown as { _extensions: Record<string, { params: Record<string, unknown> }> })._extensions['permessage-deflate']!
    .params;

const compressedBytes = (frames: RawFrame[]): number => dataFrames(frames).reduce((sum, f) => sum + f.bytes.length, 0);

describe('WebSocket permessage-deflate with context takeover (compression.contextTakeover)', () => {
  const scope = rawWsScope();

  it('answers without server_no_context_takeover and compresses similar messages far better than shared mode', async () => {
    const hub = await scope.start(TAKEOVER);
    const takeover = await scope.connect(hub.port, OFFER);
    // A client that insists on server_no_context_takeover gets the shared mode on the same hub.
    const shared = await scope.connect(hub.port, `${OFFER}; server_no_context_takeover`);
    expect(takeover.headers['sec-websocket-extensions']).toBe('permessage-deflate; client_no_context_takeover');
    expect(shared.headers['sec-websocket-extensions']).toBe('permessage-deflate; server_no_context_takeover; client_no_context_takeover');
    await takeover.subscribe('dash');
    await shared.subscribe('dash');
    const sent = 50;
    for (let i = 0; i < sent; i++) await hub.server.hub.publish('dash', dashboard(i));
    for (const client of [takeover, shared]) await client.until((frames) => dataFrames(frames).length === sent + 1);
    const texts = decodeInOrder(takeover.frames)
      .slice(1)
      .map((text) => JSON.parse(text));
    expect(texts.map((t) => t.offset)).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
    expect(texts.map((t) => t.data)).toEqual(Array.from({ length: sent }, (_, i) => dashboard(i)));
    // Every push compressed (RSV1) in both modes; takeover's frames are a fraction of shared ones.
    expect(dataFrames(takeover.frames).slice(1).every(isCompressed)).toBe(true);
    const [withTakeover, without] = [compressedBytes(takeover.frames), compressedBytes(shared.frames)];
    expect(withTakeover).toBeLessThan(without / 2);
  });

  it('keeps frames below the threshold plain and the context in order across replies, pushes and history', async () => {
    const hub = await scope.start(TAKEOVER);
    const client = await scope.connect(hub.port, OFFER);
    await client.subscribe('mixed');
    const expected: unknown[] = [];
    for (let i = 0; i < 30; i++) {
      const data = i % 3 === 0 ? `tiny-${i}` : i % 3 === 1 ? dashboard(i) : { blob: blob(i) };
      expected.push(data);
      await hub.server.hub.publish('mixed', data);
      if (i % 10 === 9) client.send(JSON.stringify({ id: 100 + i, type: 'history', channel: 'mixed', limit: 3 }));
    }
    await client.until((frames) => dataFrames(frames).length === 1 + 30 + 3, 10_000);
    const texts = decodeInOrder(client.frames).map((text) => JSON.parse(text));
    expect(texts.filter((t) => t.type === 'message').map((t) => t.data)).toEqual(expected);
    expect(texts.filter((t) => t.type === 'reply' && t.messages !== undefined)).toHaveLength(3);
    const frames = dataFrames(client.frames).slice(1);
    const plain = frames.filter((f) => !isCompressed(f)).map((f) => JSON.parse(f.payload.toString()).data);
    expect(plain).toEqual(expected.filter((d) => typeof d === 'string'));
  });

  it('honours server_max_window_bits: answers it and compresses with that window', async () => {
    const hub = await scope.start(TAKEOVER);
    const small = await scope.connect(hub.port, 'permessage-deflate; server_max_window_bits=9');
    const large = await scope.connect(hub.port, 'permessage-deflate; server_max_window_bits=15');
    const tooSmall = await scope.connect(hub.port, 'permessage-deflate; server_max_window_bits=8, permessage-deflate');
    expect(small.headers['sec-websocket-extensions']).toBe('permessage-deflate; server_max_window_bits=9; client_no_context_takeover');
    // The configured window (12 bits) is smaller than what the client allows: the answer says so.
    expect(large.headers['sec-websocket-extensions']).toBe('permessage-deflate; server_max_window_bits=12; client_no_context_takeover');
    // zlib has no 256-byte raw window: that offer is declined, the next one taken.
    expect(tooSmall.headers['sec-websocket-extensions']).toBe('permessage-deflate; client_no_context_takeover');
    await small.subscribe('win');
    await large.subscribe('win');
    for (let i = 0; i < 10; i++) await hub.server.hub.publish('win', dashboard(i));
    await small.until((frames) => dataFrames(frames).length === 11);
    await large.until((frames) => dataFrames(frames).length === 11);
    for (const [client, bits] of [
      [small, 9],
      [large, 12],
    ] as const) {
      const texts = decodeInOrder(client.frames, bits).slice(1);
      expect(texts.map((text) => JSON.parse(text).data)).toEqual(Array.from({ length: 10 }, (_, i) => dashboard(i)));
      // Byte for byte what a compressor with that window makes of the same messages.
      const reference = await referencePayloads(texts, bits);
      expect(
        dataFrames(client.frames)
          .slice(1)
          .map((f) => f.payload.toString('hex')),
      ).toEqual(reference.map((p) => p.toString('hex')));
    }
    // The 512-byte window cannot reach the previous (1.2 KB) message: takeover gains little there.
    expect(compressedBytes(large.frames)).toBeLessThan(compressedBytes(small.frames) / 2);
  });

  it('delivers every message in order to ws clients with perMessageDeflate (mixed sizes, several windows)', async () => {
    const hub = await scope.start({ compression: { contextTakeover: true, threshold: 64 } });
    const ws = await Promise.all([
      WsTestClient.connect(hub.wsUrl, { perMessageDeflate: { threshold: 0 } }),
      WsTestClient.connect(hub.wsUrl, { perMessageDeflate: { serverMaxWindowBits: 10 } }),
      WsTestClient.connect(hub.wsUrl, { perMessageDeflate: { serverNoContextTakeover: true } }),
    ]);
    expect(acceptedParams(ws[0])).toEqual({ client_no_context_takeover: true });
    expect(acceptedParams(ws[1])).toEqual({ server_max_window_bits: 10, client_no_context_takeover: true });
    expect(acceptedParams(ws[2])).toEqual({ server_no_context_takeover: true, client_no_context_takeover: true });
    for (const client of ws) await client.request({ type: 'subscribe', channel: 'node' });
    const sizes = [1, 10, 63, 64, 200, 1_000, 5_000, 70_000];
    const expected = Array.from({ length: 300 }, (_, i) =>
      i % 4 === 0 ? dashboard(i) : i % 50 === 1 ? { i, blob: blob(i) } : { i, pad: 'ab'.repeat(sizes[i % sizes.length]! / 2) },
    );
    for (const data of expected) await hub.server.hub.publish('node', data);
    for (const client of ws) {
      const got = await client.waitForMessages(expected.length);
      expect(got.map((m) => m.offset)).toEqual(expected.map((_, i) => i + 1));
      expect(got.map((m) => m.data)).toEqual(expected);
      const reply = await client.request({ type: 'publish', channel: 'back', data: dashboard(1) });
      expect(reply.offset).toBe(1 + ws.indexOf(client));
      await client.close();
    }
  });

  it('makes a compressor only for a session sent a compressed frame, and frees it when the session closes', async () => {
    const live = new Set<number>();
    let made = 0;
    const hook = createHook({
      init: (id, type) => {
        if (type !== 'ZLIB') return;
        live.add(id);
        made++;
      },
      destroy: (id) => live.delete(id),
    }).enable();
    try {
      const hub = await scope.start(TAKEOVER);
      const raw = await Promise.all(Array.from({ length: 20 }, () => scope.connect(hub.port, OFFER)));
      for (const client of raw) await client.subscribe('mem');
      await hub.server.hub.publish('mem', 'small');
      for (const client of raw) await client.until((frames) => dataFrames(frames).length === 2);
      // Nothing compressed yet: no session holds a compressor.
      expect(made).toBe(0);
      await hub.server.hub.publish('mem', dashboard(1));
      await hub.server.hub.publish('mem', dashboard(2));
      for (const client of raw) await client.until((frames) => dataFrames(frames).length === 4);
      expect(made).toBe(20);
      expect(live.size).toBe(20);
      const closes = vi.spyOn(DeflateRaw.prototype, 'close');
      for (const client of raw.slice(0, 15)) client.destroy();
      // Freed as each session closes, not left to the garbage collector.
      await raw[15]!.until(() => closes.mock.calls.length === 15);
      closes.mockRestore();
      // A zlib handle reports its end once collected: collect until the closed sessions' are.
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      for (let i = 0; i < 50 && live.size > 5; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        gc();
      }
      expect(live.size).toBe(5);
    } finally {
      hook.disable();
    }
  });

  it('stays in shared mode by default', async () => {
    const hub = await scope.start();
    const client = await scope.connect(hub.port, 'permessage-deflate; server_max_window_bits=12');
    // Declined as before: the shared compressor uses a 15-bit window.
    expect(client.headers['sec-websocket-extensions']).toBeUndefined();
  });
});
