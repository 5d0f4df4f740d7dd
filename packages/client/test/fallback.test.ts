import { createClient, type HeraldClient, type HeraldClientError, type Envelope, type TransportName } from '@herald/client/node';
import { Collector, startNginx, startTestHub, type TestHub, type TestNginx } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('fallback between transports, with real obstacles', () => {
  let hub: TestHub | undefined;
  let nginx: TestNginx | undefined;
  let client: HeraldClient | undefined;
  afterEach(async () => {
    client?.close();
    await nginx?.close();
    await hub?.close();
    client = undefined;
    nginx = undefined;
  });

  /** Subscribes through `url`, publishes `count` messages, and returns the transport used and what arrived. */
  async function receiveThrough(url: string, count: number): Promise<{ transport: TransportName | undefined; offsets: number[] }> {
    client = createClient({ url, timeout: 1500, pollWait: 5 });
    const got = new Collector<Envelope>();
    const sub = client.subscribe('fb', (m) => got.push(m));
    await new Promise<void>((resolve, reject) => {
      sub.on('state', (s) => s === 'subscribed' && resolve());
      client!.on('error', reject);
    });
    for (let i = 1; i <= count; i++) await hub!.server.hub.publish('fb', i);
    await got.count(count, 20_000);
    return { transport: client.transport, offsets: got.items.map((m) => m.offset) };
  }

  it('lands on SSE when the hub refuses WebSocket upgrades', async () => {
    hub = await startTestHub({ transports: { websocket: false } });
    const result = await receiveThrough(hub.url, 30);
    expect(result).toEqual({ transport: 'sse', offsets: range(1, 30) });
  });

  it('lands on SSE behind an nginx that does not forward upgrade headers', async () => {
    hub = await startTestHub();
    nginx = await startNginx({ upstreamPort: hub.port, upgrade: false, buffering: false });
    const result = await receiveThrough(nginx.url, 30);
    expect(result).toEqual({ transport: 'sse', offsets: range(1, 30) });
  });

  it('lands on polling behind an nginx that buffers SSE, and still receives every message', async () => {
    // The buffering is nginx's gzip of the stream; a stream the hub already gzips passes through it
    // unbuffered (nginx does not compress an encoded response), so the hub's own gzip is off here.
    hub = await startTestHub({ compression: { http: false } });
    nginx = await startNginx({ upstreamPort: hub.port, upgrade: false, buffering: true });
    const result = await receiveThrough(nginx.url, 200);
    expect(result).toEqual({ transport: 'polling', offsets: range(1, 200) });
  });

  it('lands on SSE through an nginx that would buffer it, when the hub gzips the stream itself', async () => {
    hub = await startTestHub();
    nginx = await startNginx({ upstreamPort: hub.port, upgrade: false, buffering: true });
    const result = await receiveThrough(nginx.url, 30);
    expect(result).toEqual({ transport: 'sse', offsets: range(1, 30) });
  });

  it('uses WebSocket through an nginx configured for it', async () => {
    hub = await startTestHub();
    nginx = await startNginx({ upstreamPort: hub.port, upgrade: true, buffering: false });
    const result = await receiveThrough(nginx.url, 30);
    expect(result).toEqual({ transport: 'websocket', offsets: range(1, 30) });
  });

  it('remembers the transport that worked for the next connection', async () => {
    hub = await startTestHub({ transports: { websocket: false } });
    const first = createClient({ url: hub.url, timeout: 1500 });
    const sub = first.subscribe('mem');
    await new Promise<void>((resolve) => sub.on('state', (s) => s === 'subscribed' && resolve()));
    expect(first.transport).toBe('sse');
    first.close();
    const attempts: string[] = [];
    client = createClient({
      url: hub.url,
      timeout: 1500,
      WebSocket: class extends WebSocket {
        constructor(url: string) {
          attempts.push(url);
          super(url);
        }
      },
    });
    const again = client.subscribe('mem');
    await new Promise<void>((resolve) => again.on('state', (s) => s === 'subscribed' && resolve()));
    expect(client.transport).toBe('sse');
    expect(attempts).toEqual([]);
  });

  it("an SSE request over the hub's head limit (431, 1006) is a failed stream: the client moves on to the WebSocket; with SSE alone it stops with 1006", async () => {
    hub = await startTestHub({ maxHeaderBytes: 8192 });
    // 40 channels of 208 characters: about 8.5 KB of URL, over the hub's 8 KiB.
    const names = Array.from({ length: 40 }, (_, i) => `long:${String(i).padStart(2, '0')}:${'x'.repeat(200)}`);
    client = createClient({ url: hub.url, transports: ['sse', 'websocket'], timeout: 1500 });
    const got = new Collector<Envelope>();
    const subs = names.map((name) => client!.subscribe(name, (m) => got.push(m)));
    await new Promise<void>((resolve) => subs.at(-1)!.on('state', (s) => s === 'subscribed' && resolve()));
    expect(client.transport).toBe('websocket');
    await hub.server.hub.publish(names.at(-1)!, 'through the WebSocket');
    expect((await got.count(1)).map((m) => m.data)).toEqual(['through the WebSocket']);

    const sseOnly = createClient({ url: hub.url, transports: ['sse'], timeout: 1500, reconnect: { maxAttempts: 1 } });
    const failure = new Promise<HeraldClientError>((resolve) => sseOnly.on('error', resolve));
    for (const name of names) sseOnly.subscribe(name);
    const error = await failure;
    sseOnly.close();
    expect(error.code).toBe(1006);
    expect(error.message).toBe(
      `the hub refused the SSE request as too large (request head larger than 8192 bytes or 200 headers): fewer or shorter channels would fit`,
    );
  });
});
