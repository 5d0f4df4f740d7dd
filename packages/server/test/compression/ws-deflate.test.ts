import { JwtAuthenticator, Permissions } from '@herald/server';
import { startTestHub, WsTestClient } from '@herald/testkit';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { dataFrames, frameText, isCompressed, publishTo, rawWsScope, type RawFrame } from './raw-ws.js';

const OFFER = 'permessage-deflate; client_max_window_bits';
const big = { rows: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `sensor-${i}`, value: i * 1.5, status: 'ok' })) };

describe('WebSocket permessage-deflate', () => {
  const scope = rawWsScope();

  it('negotiates the offer and compresses messages at or above the threshold, once for every subscriber', async () => {
    const hub = await scope.start();
    const raw = await Promise.all([1, 2, 3].map(() => scope.connect(hub.port, OFFER)));
    for (const client of raw) {
      expect(client.headers['sec-websocket-extensions']).toBe('permessage-deflate; server_no_context_takeover; client_no_context_takeover');
      await client.subscribe('dash');
    }
    const [first, ...others] = await publishTo(hub, raw, 'dash', ['small', big]);
    const [small, large] = first!;
    expect(isCompressed(small!)).toBe(false);
    expect(JSON.parse(frameText(small!))).toMatchObject({ type: 'message', offset: 1, data: 'small' });
    expect(isCompressed(large!)).toBe(true);
    expect(JSON.parse(frameText(large!))).toMatchObject({ type: 'message', offset: 2, data: big });
    expect(large!.payload.length).toBeLessThan(JSON.stringify(big).length / 3);
    // The same bytes on every socket: compressed once per message (no context takeover), not per session.
    for (const pushes of others) expect(pushes.map((f) => f.bytes)).toEqual([small!.bytes, large!.bytes]);
  });

  it('compresses a JSON delta push at or above the threshold once per frame, and leaves a small one plain', async () => {
    const hub = await scope.start({ deltaNamespaces: ['dash'] });
    const raw = await Promise.all([1, 2].map(() => scope.connect(hub.port, OFFER)));
    for (const client of raw) {
      await client.subscribe('dash:d', { delta: true });
      expect(JSON.parse(frameText(dataFrames(client.frames)[0]!))).toMatchObject({ type: 'reply', delta: true });
    }
    // 300 rows (under the 16,384-unit delta cap): one value changed (a small delta), then every
    // tenth row's name (a delta push of several hundred bytes).
    const rows = Array.from({ length: 300 }, (_, i) => ({ id: i, name: `sensor-${i}`, value: i }));
    const second = rows.map((row, i) => (i === 7 ? { ...row, value: -1 } : row));
    const third = second.map((row, i) => (i % 10 === 0 ? { ...row, name: `renamed-sensor-${i}-${(i * 7919) % 1000}` } : row));
    for (const data of [rows, second, third]) await hub.server.hub.publish('dash:d', data);
    for (const client of raw) await client.until((frames) => dataFrames(frames).length === 4);
    const [full, small, large] = dataFrames(raw[0]!.frames).slice(1);
    expect(isCompressed(full!)).toBe(true);
    expect(JSON.parse(frameText(small!))).toMatchObject({ type: 'delta', offset: 2 });
    expect(frameText(small!).length).toBeLessThan(256);
    expect(isCompressed(small!)).toBe(false);
    expect(JSON.parse(frameText(large!))).toMatchObject({ type: 'delta', offset: 3 });
    expect(frameText(large!).length).toBeGreaterThanOrEqual(256);
    expect(isCompressed(large!)).toBe(true);
    expect(large!.payload.length).toBeLessThan(frameText(large!).length);
    expect(dataFrames(raw[1]!.frames)[3]!.bytes.equals(large!.bytes)).toBe(true);
  });

  it('sends a client that does not offer deflate the same bytes as without compression', async () => {
    const hub = await scope.start();
    const plain = await scope.connect(hub.port);
    const off = await startTestHub({ compression: false });
    const reference = await scope.connect(off.port, OFFER);
    try {
      expect(plain.headers['sec-websocket-extensions']).toBeUndefined();
      expect(reference.headers['sec-websocket-extensions']).toBeUndefined();
      await plain.subscribe('dash');
      await reference.subscribe('dash');
      await hub.server.hub.publish('dash', big);
      await off.server.hub.publish('dash', big);
      await plain.until((frames) => dataFrames(frames).length === 2);
      await reference.until((frames) => dataFrames(frames).length === 2);
      const frame = dataFrames(plain.frames)[1]!;
      expect(isCompressed(frame)).toBe(false);
      const envelope = JSON.parse(frameText(frame));
      expect(envelope.data).toEqual(big);
      // Byte for byte what a hub without compression sends (but for the epoch and time, which differ).
      const other = JSON.parse(frameText(dataFrames(reference.frames)[1]!));
      expect(frame.bytes.length).toBe(dataFrames(reference.frames)[1]!.bytes.length);
      expect({ ...envelope, epoch: 0, time: 0 }).toEqual({ ...other, epoch: 0, time: 0 });
    } finally {
      await off.close();
    }
  });

  it('compresses a large reply (history) and leaves a small one plain', async () => {
    const hub = await scope.start();
    const client = await scope.connect(hub.port, OFFER);
    for (let i = 0; i < 5; i++) await hub.server.hub.publish('hist', big);
    client.send(JSON.stringify({ id: 7, type: 'history', channel: 'hist' }));
    client.send(JSON.stringify({ id: 8, type: 'ping' }));
    await client.until((frames) => dataFrames(frames).length === 2);
    const [history, pong] = dataFrames(client.frames);
    expect(isCompressed(history!)).toBe(true);
    expect(JSON.parse(frameText(history!)).messages).toHaveLength(5);
    expect(isCompressed(pong!)).toBe(false);
    expect(JSON.parse(frameText(pong!))).toEqual({ type: 'reply', id: 8 });
  });

  it('runs commands the client compressed', async () => {
    const hub = await scope.start();
    const client = await scope.connect(hub.port, OFFER);
    client.send(JSON.stringify({ id: 1, type: 'subscribe', channel: 'in' }), { compress: true });
    await client.until((frames) => dataFrames(frames).length === 1);
    client.send(JSON.stringify({ id: 2, type: 'publish', channel: 'in', data: big }), { compress: true });
    await client.until((frames) => dataFrames(frames).length === 3);
    const texts = dataFrames(client.frames).map((f) => JSON.parse(frameText(f)));
    expect(texts[0]).toMatchObject({ type: 'reply', id: 1, channel: 'in' });
    expect(texts.find((t) => t.type === 'message')).toMatchObject({ offset: 1, data: big });
  });

  it('runs a compressed command sent in fragments', async () => {
    const hub = await scope.start();
    const client = await scope.connect(hub.port, OFFER);
    client.sendFragmented(JSON.stringify({ id: 3, type: 'ping' }));
    await client.until((frames) => dataFrames(frames).length === 1);
    expect(JSON.parse(frameText(dataFrames(client.frames)[0]!))).toEqual({ type: 'reply', id: 3 });
  });

  it('closes with 1009 once a compressed fragmented message that inflates past maxMessageBytes ends', async () => {
    const hub = await scope.start({ maxMessageBytes: 4096 });
    const client = await WsTestClient.connect(hub.wsUrl, { perMessageDeflate: { threshold: 0 } });
    for (let i = 0; i < 3; i++) client.socket.send('x'.repeat(2000), { fin: false });
    client.socket.send('x', { fin: true });
    expect((await client.closed).code).toBe(1009);
  });

  it('closes with 1007 on compressed bytes that do not inflate, and keeps serving others', async () => {
    const hub = await scope.start();
    const bad = await scope.connect(hub.port, OFFER);
    const good = await scope.connect(hub.port, OFFER);
    bad.send('', { payload: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x13, 0x37]), compress: true });
    await bad.until(() => bad.closed || bad.closeCode() !== undefined);
    expect(bad.closeCode()).toBe(1007);
    await good.subscribe('still');
    expect(JSON.parse(frameText(dataFrames(good.frames)[0]!))).toMatchObject({ type: 'reply', channel: 'still' });
  });

  it('closes with 1009 on a compressed command that inflates past maxMessageBytes (a zip bomb)', async () => {
    const hub = await scope.start({ maxMessageBytes: 4096 });
    const client = await scope.connect(hub.port, OFFER);
    client.send(JSON.stringify({ id: 1, type: 'publish', channel: 'x', data: 'a'.repeat(1_000_000) }), { compress: true });
    await client.until(() => client.closed || client.closeCode() !== undefined);
    expect(client.closeCode()).toBe(1009);
  });

  it('closes with 1002 on a compressed frame from a client that did not negotiate deflate', async () => {
    const hub = await scope.start();
    const client = await scope.connect(hub.port);
    client.send(JSON.stringify({ id: 1, type: 'ping' }), { compress: true });
    await client.until(() => client.closed || client.closeCode() !== undefined);
    expect(client.closeCode()).toBe(1002);
  });

  it.each([
    ['an offer asking for a smaller server window', 'permessage-deflate; server_max_window_bits=10'],
    ['a malformed offer', 'permessage-deflate; client_max_window_bits=99'],
    ['an unknown parameter', 'permessage-deflate; foo=1'],
  ])('declines %s and connects without compression', async (_name, offer) => {
    const hub = await scope.start();
    const client = await scope.connect(hub.port, offer);
    expect(client.headers['sec-websocket-extensions']).toBeUndefined();
    await client.subscribe('plain');
    await hub.server.hub.publish('plain', big);
    await client.until((frames) => dataFrames(frames).length === 2);
    expect(isCompressed(dataFrames(client.frames)[1]!)).toBe(false);
  });

  it('takes the first acceptable of several offers', async () => {
    const hub = await scope.start();
    const client = await scope.connect(
      hub.port,
      'permessage-deflate; server_max_window_bits=9, permessage-deflate; client_max_window_bits=12',
    );
    expect(client.headers['sec-websocket-extensions']).toBe(
      'permessage-deflate; client_max_window_bits=12; server_no_context_takeover; client_no_context_takeover',
    );
  });

  it('compresses the signed pushes of a subscriber without history once, with their signed cursor', async () => {
    const secret = 'deflate-test-jwt-secret-0123456789abcdef';
    const hub = await scope.start({
      security: {
        authenticator: new JwtAuthenticator({ secret }),
        apiKeys: ['deflate-test-api-key-0123456789'],
        permissions: new Permissions({ room: { subscribe: 'authenticated', publish: 'none', history: 'none', presence: 'none' } }),
      },
    });
    const token = await new SignJWT({ sub: 'u' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    const raw = await Promise.all([1, 2].map(() => scope.connect(hub.port, OFFER)));
    for (const client of raw) {
      client.send(JSON.stringify({ id: 0, type: 'auth', token }));
      await client.until((frames) => dataFrames(frames).length === 1);
      await client.subscribe('room:1');
    }
    const [[a], [b]] = (await publishTo(hub, raw, 'room:1', [big])) as [RawFrame[], RawFrame[]];
    expect(isCompressed(a!)).toBe(true);
    expect(a!.bytes).toEqual(b!.bytes);
    expect(JSON.parse(frameText(a!))).toMatchObject({ type: 'message', offset: 1, data: big, cursor: expect.any(String) });
  });

  it('delivers the right data to a ws client with perMessageDeflate', async () => {
    const hub = await scope.start();
    const client = await WsTestClient.connect(hub.wsUrl, { perMessageDeflate: { threshold: 0 } });
    expect(client.socket.extensions).toContain('permessage-deflate');
    await client.request({ type: 'subscribe', channel: 'node' });
    await hub.server.hub.publish('node', big);
    await hub.server.hub.publish('node', 'tiny');
    const got = await client.waitForMessages(2);
    expect(got.map((m) => m.data)).toEqual([big, 'tiny']);
    const reply = await client.request({ type: 'publish', channel: 'node', data: big });
    expect(reply.offset).toBe(3);
    await client.close();
  });
});
