import { get, type IncomingMessage } from 'node:http';
import { brotliDecompressSync, createGunzip, gunzipSync } from 'node:zlib';
import { startTestHub, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

const big = { rows: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `sensor-${i}`, value: i * 1.5, status: 'ok' })) };

function request(url: string, acceptEncoding?: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    get(url, { headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding } }, resolve).once('error', reject);
  });
}

async function body(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** An SSE stream read through Node's own gunzip, decoded as the bytes arrive. */
class GzipSse {
  text = '';
  wire = 0;
  ended: Promise<void>;
  constructor(readonly res: IncomingMessage) {
    const gunzip = createGunzip();
    res.on('data', (chunk: Buffer) => (this.wire += chunk.length));
    res.pipe(gunzip);
    gunzip.on('data', (chunk: Buffer) => (this.text += chunk.toString('utf8')));
    this.ended = new Promise((resolve, reject) => {
      gunzip.once('end', resolve);
      gunzip.once('error', reject);
    });
  }

  /** The `data:` of the unnamed events so far. */
  messages(): any[] {
    return this.text
      .split('\n\n')
      .filter((event) => event.includes('data: ') && !event.includes('event: '))
      .map((event) => JSON.parse(event.slice(event.indexOf('data: ') + 6)));
  }

  async until(test: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!test()) {
      if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(this.text)}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

describe('gzip on SSE streams', () => {
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
  });

  it('sends each event at once, decodable incrementally, to a client that accepts gzip', async () => {
    hub = await startTestHub();
    const res = await request(`${hub.url}/events?channel=feed`, 'gzip, deflate, br');
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers['vary']).toContain('Accept-Encoding');
    const sse = new GzipSse(res);
    await sse.until(() => sse.text.includes('event: ready'));
    // Each event arrives (decoded) before the next publish: nothing is held back in a compressor.
    for (let i = 1; i <= 3; i++) {
      await hub.server.hub.publish('feed', i === 2 ? 'small' : big);
      await sse.until(() => sse.messages().length === i);
    }
    expect(sse.messages().map((m) => m.offset)).toEqual([1, 2, 3]);
    expect(sse.messages()[0].data).toEqual(big);
    expect(sse.wire).toBeLessThan(sse.text.length / 2);
    // The hub ends the stream with a valid gzip trailer (Node's gunzip checks its CRC and length).
    await hub.close();
    hub = undefined;
    await sse.ended;
  });

  it('gzips a stream of several channels (its own id lines, the shared data) and ends it with a valid trailer', async () => {
    hub = await startTestHub();
    const res = await request(`${hub.url}/events?channel=a&channel=b`, 'gzip');
    expect(res.headers['content-encoding']).toBe('gzip');
    const sse = new GzipSse(res);
    await sse.until(() => sse.text.includes('event: ready'));
    await hub.server.hub.publish('a', big);
    await hub.server.hub.publish('b', 'small');
    await sse.until(() => sse.messages().length === 2);
    expect(sse.messages().map((m) => [m.channel, m.offset])).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
    expect(sse.text.match(/^id: c1\./gm)).toHaveLength(3);
    await hub.close();
    hub = undefined;
    await sse.ended;
  });

  it('carries delta events inside the gzip stream (one and several channels)', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'] });
    for (const query of ['channel=dash:one&delta=1', 'channel=dash:a&channel=dash:b&delta=1']) {
      const channel = query.includes('dash:one') ? 'dash:one' : 'dash:a';
      const res = await request(`${hub.url}/events?${query}`, 'gzip');
      expect(res.headers['content-encoding']).toBe('gzip');
      const sse = new GzipSse(res);
      await sse.until(() => sse.text.includes('event: ready'));
      const frames = (): any[] =>
        sse.text
          .split('\n\n')
          .filter((e) => e.includes('data: ') && !e.includes('event: '))
          .map((e) => JSON.parse(e.slice(e.indexOf('data: ') + 6)));
      for (let i = 0; i < 4; i++) {
        await hub.server.hub.publish(channel, { ...big, at: i });
        await sse.until(() => frames().length === i + 1);
      }
      expect(frames().map((f) => f.type)).toEqual(['message', 'delta', 'delta', 'delta']);
      res.destroy();
    }
  });

  it('carries compact delta items inside the gzip stream (format=compact)', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'] });
    const res = await request(`${hub.url}/events?channel=dash:c&delta=1&format=compact`, 'gzip');
    expect(res.headers['content-encoding']).toBe('gzip');
    const sse = new GzipSse(res);
    await sse.until(() => sse.text.includes('event: ready'));
    const items = (): any[] =>
      sse.text
        .split('\n\n')
        .filter((e) => e.startsWith('data:['))
        .map((e) => JSON.parse(e.slice(5)));
    for (let i = 0; i < 4; i++) {
      await hub.server.hub.publish('dash:c', { ...big, at: i });
      await sse.until(() => items().length === i + 1);
    }
    expect(items().map((item) => item[0])).toEqual([0, -1, -1, -1]);
    expect(
      items()
        .slice(1)
        .every((item) => typeof item[3] === 'string'),
    ).toBe(true);
    res.destroy();
  });

  it('writes the same compressed bytes of a message to every gzip stream', async () => {
    hub = await startTestHub();
    const streams = await Promise.all([1, 2].map(async () => request(`${hub!.url}/events?channel=same`, 'gzip')));
    const raw = streams.map(() => [] as Buffer[]);
    streams.forEach((res, i) => res.on('data', (chunk: Buffer) => raw[i]!.push(chunk)));
    const decoded = streams.map((res) => new GzipSse(res));
    await Promise.all(decoded.map((sse) => sse.until(() => sse.text.includes('event: ready'))));
    const before = raw.map((chunks) => Buffer.concat(chunks).length);
    await hub.server.hub.publish('same', big);
    await Promise.all(decoded.map((sse) => sse.until(() => sse.messages().length === 1)));
    const [a, b] = raw.map((chunks, i) => Buffer.concat(chunks).subarray(before[i]));
    expect(a!.length).toBeGreaterThan(0);
    expect(a!.equals(b!)).toBe(true);
  });

  it('sends plain text to a client that does not accept gzip (or refuses it with q=0)', async () => {
    hub = await startTestHub();
    for (const accept of [undefined, 'gzip;q=0, identity', 'br']) {
      const res = await request(`${hub.url}/events?channel=plain`, accept);
      expect(res.headers['content-encoding']).toBeUndefined();
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(text).toContain('event: ready');
      res.destroy();
    }
  });

  it('leaves SSE uncompressed with compression off', async () => {
    hub = await startTestHub({ compression: { http: false } });
    const res = await request(`${hub.url}/events?channel=off`, 'gzip');
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers['vary']).toBeUndefined();
    res.destroy();
  });
});

describe('gzip and br on polling answers', () => {
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
  });

  it('compresses an answer above the threshold with br or gzip, and leaves a short one plain', async () => {
    hub = await startTestHub();
    for (let i = 0; i < 3; i++) await hub.server.hub.publish('poll', big);
    const url = `${hub.url}/api/messages?channel=poll`;
    const br = await request(url, 'gzip, deflate, br');
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['vary']).toContain('Accept-Encoding');
    const brBody = await body(br);
    expect(Number(br.headers['content-length'])).toBe(brBody.length);
    expect(JSON.parse(brotliDecompressSync(brBody).toString()).messages).toHaveLength(3);

    const gzip = await request(url, 'gzip');
    expect(gzip.headers['content-encoding']).toBe('gzip');
    const gzipBody = await body(gzip);
    expect(JSON.parse(gunzipSync(gzipBody).toString()).messages).toHaveLength(3);

    const plain = await request(url);
    expect(plain.headers['content-encoding']).toBeUndefined();
    const plainBody = await body(plain);
    expect(JSON.parse(plainBody.toString()).messages).toHaveLength(3);
    expect(gzipBody.length).toBeLessThan(plainBody.length / 3);

    const short = await request(`${hub.url}/api/messages?channel=empty`, 'gzip, br');
    expect(short.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse((await body(short)).toString()).messages).toEqual([]);
  });

  it('compresses the answer of a held poll woken by a message', async () => {
    hub = await startTestHub();
    await hub.server.hub.publish('held', 'first');
    const answer = request(`${hub.url}/api/messages?channel=held&since=${encodeURIComponent(await cursorAt(hub, 'held'))}&wait=5`, 'gzip');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await hub.server.hub.publish('held', big);
    const res = await answer;
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(await body(res)).toString()).messages[0].data).toEqual(big);
  });

  it('compresses history answers', async () => {
    hub = await startTestHub();
    for (let i = 0; i < 3; i++) await hub.server.hub.publish('hist', big);
    const res = await request(`${hub.url}/api/history?channel=hist`, 'gzip');
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(await body(res)).toString()).messages).toHaveLength(3);
  });
});

/** The cursor of a channel's current end, from a poll. */
async function cursorAt(hub: TestHub, channel: string): Promise<string> {
  const res = await fetch(`${hub.url}/api/messages?channel=${channel}`);
  return ((await res.json()) as { cursor: string }).cursor;
}
