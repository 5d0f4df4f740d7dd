import { createClient, type HeraldClient, type Envelope, type TransportName } from '@herald/client/node';
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
    hub = await startTestHub();
    nginx = await startNginx({ upstreamPort: hub.port, upgrade: false, buffering: true });
    const result = await receiveThrough(nginx.url, 200);
    expect(result).toEqual({ transport: 'polling', offsets: range(1, 200) });
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
});
