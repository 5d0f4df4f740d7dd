import { createClient, type Envelope, type Gap, type HeraldClient } from '@herald/client/node';
import { JwtAuthenticator, Permissions } from '@herald/server';
import { Collector, startNginx, startTestHub, type TestHub, type TestNginx } from '@herald/testkit';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * Issue 18: a subscription starts when `subscribe()` is called. Every message stored after the call
 * arrives exactly once, in order, whatever the SDK goes through to find a transport: behind an nginx
 * that drops WebSocket upgrades and buffers responses (ignoring X-Accel-Buffering), through one that
 * passes everything, while reconnecting; and a window longer than the retention is an explicit gap.
 */

const after = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('a subscription starts when subscribe() is called', () => {
  let hub: TestHub | undefined;
  let nginx: TestNginx | undefined;
  const clients: HeraldClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await nginx?.close();
    await hub?.close();
    nginx = undefined;
    hub = undefined;
  });

  function track(client: HeraldClient, channel: string): { got: Collector<Envelope>; gaps: Gap[]; errors: unknown[] } {
    const got = new Collector<Envelope>();
    const gaps: Gap[] = [];
    const errors: unknown[] = [];
    client.on('error', (e) => errors.push(e));
    const sub = client.subscribe(channel, (m) => got.push(m));
    sub.on('gap', (g) => gaps.push(g));
    sub.on('error', (e) => errors.push(e));
    return { got, gaps, errors };
  }

  it('behind a proxy that drops upgrades and buffers responses: messages at 0.1, 1, 3 and 6 s all arrive, once, in order', async () => {
    // nginx's gzip is what buffers here; a stream the hub gzips itself passes it (fallback.test.ts).
    hub = await startTestHub({ compression: { http: false } });
    nginx = await startNginx({ upstreamPort: hub.port, upgrade: false, buffering: true });
    // Default options, as a new user has them.
    const client = createClient({ url: nginx.url });
    clients.push(client);
    const { got, gaps, errors } = track(client, 'orders:1');
    const start = performance.now();
    const published: number[] = [];
    for (const at of [100, 1000, 3000, 6000]) {
      await after(at - (performance.now() - start));
      published.push((await hub.server.hub.publish('orders:1', { at })).offset);
    }
    await got.count(4, 15_000);
    await after(200);
    expect(got.items.map((m) => [m.offset, (m.data as { at: number }).at])).toEqual(
      published.map((offset, i) => [offset, [100, 1000, 3000, 6000][i]]),
    );
    expect(gaps).toEqual([]);
    expect(errors).toEqual([]);
    expect(client.transport).toBe('polling');
  }, 30_000);

  it('through a proxy that passes everything: a message published within 1 ms of subscribe() returning arrives', async () => {
    hub = await startTestHub();
    nginx = await startNginx({ upstreamPort: hub.port, upgrade: true, buffering: false });
    for (let round = 0; round < 5; round++) {
      const client = createClient({ url: nginx.url });
      clients.push(client);
      const channel = `race:${round}`;
      await hub.server.hub.publish(channel, 'before');
      // Older than any round trip: not part of the subscription.
      await after(100);
      const { got, gaps, errors } = track(client, channel);
      // Same tick as subscribe() returning, then 1 ms later: both stored before the transport is up.
      const first = hub.server.hub.publish(channel, 'at once');
      await after(1);
      await first;
      await hub.server.hub.publish(channel, 'after 1 ms');
      await got.count(2, 10_000);
      await after(100);
      expect(got.items.map((m) => m.data)).toEqual(['at once', 'after 1 ms']);
      expect(gaps).toEqual([]);
      expect(errors).toEqual([]);
      expect(client.transport).toBe('websocket');
    }
  }, 30_000);

  it('a window longer than the retention gives an explicit gap, then what the log still has', async () => {
    hub = await startTestHub({ historySize: 3, compression: { http: false } });
    nginx = await startNginx({ upstreamPort: hub.port, upgrade: false, buffering: true });
    const client = createClient({ url: nginx.url });
    clients.push(client);
    const { got, gaps, errors } = track(client, 'short');
    // Let the pin land, then publish more than the log keeps before any transport is up (~1 s here).
    await after(100);
    let top = 0;
    for (let i = 1; i <= 10; i++) ({ offset: top } = await hub.server.hub.publish('short', i));
    await got.count(3, 15_000);
    expect(gaps).toHaveLength(1);
    expect(gaps[0]).toMatchObject({ channel: 'short', reason: 'window', resumed: { offset: top - 3 } });
    expect(gaps[0]!.requested.offset).toBeLessThan(top - 3);
    expect(got.items.map((m) => m.offset)).toEqual([top - 2, top - 1, top]);
    expect(errors).toEqual([]);
  }, 30_000);

  it('a subscription added while the client reconnects starts at the call, not when the connection is back', async () => {
    hub = await startTestHub();
    const client = createClient({ url: hub.url, transports: ['websocket'], reconnect: { minDelay: 500, maxDelay: 600 } });
    clients.push(client);
    const first = track(client, 'first');
    await new Promise<void>((resolve) => client.on('state', (s) => s === 'connected' && resolve()));
    hub.server.dropConnections();
    await new Promise<void>((resolve) => client.on('state', (s) => s === 'reconnecting' && resolve()));
    const late = track(client, 'late');
    await after(50);
    // Published while no connection exists: after the call, so part of the subscription.
    await hub.server.hub.publish('late', 'while reconnecting');
    await hub.server.hub.publish('first', 'while reconnecting');
    await late.got.count(1, 10_000);
    await first.got.count(1, 10_000);
    expect(late.got.items.map((m) => m.data)).toEqual(['while reconnecting']);
    expect(late.gaps).toEqual([]);
    expect([...first.errors, ...late.errors]).toEqual([]);
  }, 30_000);

  it('with getToken, the pin waits for the token and still starts at the call', async () => {
    const secret = 'subscribe-start-jwt-secret-0123456789ab';
    hub = await startTestHub({
      security: {
        authenticator: new JwtAuthenticator({ secret }),
        apiKeys: ['subscribe-start-api-key-0123456789'],
        requireAuth: true,
        permissions: new Permissions({
          orders: { subscribe: 'authenticated', publish: 'none', history: 'authenticated', presence: 'none' },
        }),
      },
    });
    const token = await new SignJWT({ sub: 'olga' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    let handOver: (token: string) => void = () => undefined;
    const client = createClient({
      url: hub.url,
      transports: ['websocket'],
      getToken: () => new Promise<string>((resolve) => (handOver = resolve)),
    });
    clients.push(client);
    const { got, gaps, errors } = track(client, 'orders:9');
    // Stored after the call, while the client still waits for its token: part of the subscription.
    await after(50);
    await hub.server.hub.publish('orders:9', 'before the token');
    await after(250);
    handOver(token);
    await got.count(1, 10_000);
    await hub.server.hub.publish('orders:9', 'after');
    await got.count(2, 10_000);
    expect(got.items.map((m) => m.data)).toEqual(['before the token', 'after']);
    expect(gaps).toEqual([]);
    expect(errors).toEqual([]);
  }, 30_000);

  it('refuses a fallbackDelay that is not a number of ms ≥ 0', () => {
    for (const fallbackDelay of [-1, Number.NaN, Infinity]) {
      expect(() => createClient({ url: 'http://127.0.0.1:1', fallbackDelay })).toThrow(
        new RangeError('fallbackDelay must be a number of ms ≥ 0'),
      );
    }
  });
});
