import { createClient, type Envelope, type HeraldClient, type TransportName } from '@herald/client/node';
import { Collector, eventually, startTestHub, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';

describe('reconnect with backoff', () => {
  const clients: HeraldClient[] = [];
  let hub: TestHub | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    vi.restoreAllMocks();
    for (const c of clients.splice(0)) c.close();
    await hub?.close();
    hub = undefined;
  });

  it('waits exactly the jittered backoff between attempts, growing to the cap, and stops after maxAttempts', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    // A port nothing listens on: every attempt is refused at once by the kernel.
    const closed = await startTestHub();
    const url = closed.url;
    await closed.close();
    const attempts: number[] = [];
    let failures = 0;
    class CountingWebSocket extends WebSocket {
      constructor(address: string) {
        super(address);
        attempts.push(Date.now());
        this.on('close', () => failures++);
      }
    }
    // Settled: every attempt so far has failed and exactly one timer (the backoff) is pending.
    const settled = (): boolean => failures === attempts.length && (vi.getTimerCount() === 1 || client.state === 'closed');
    const client = createClient({
      url,
      transports: ['websocket'],
      WebSocket: CountingWebSocket,
      reconnect: { minDelay: 100, maxDelay: 1000, maxAttempts: 4 },
    });
    clients.push(client);
    const states: string[] = [];
    const errors: unknown[] = [];
    client.on('state', (s) => states.push(s));
    client.on('error', (e) => errors.push(e));
    client.connect();
    // Delays with random() = 0.5: 100 + 0.5·(min(1000, 100·2^(n+1)) − 100) → 150, 250, 450, 550 (capped).
    const expected = [150, 250, 450];
    await eventually(() => attempts.length === 1 && settled(), 'attempt 1 to fail');
    for (const [i, delay] of expected.entries()) {
      vi.advanceTimersByTime(delay - 1);
      expect(attempts).toHaveLength(i + 1);
      vi.advanceTimersByTime(1);
      expect(attempts).toHaveLength(i + 2);
      await eventually(settled, `attempt ${i + 2} to fail`);
    }
    expect(attempts.slice(1).map((t, i) => t - attempts[i]!)).toEqual(expected);
    expect(client.state).toBe('closed');
    expect(states).toEqual(['connecting', 'reconnecting', 'closed']);
    expect(errors).toHaveLength(1);
  });

  it('stops, with the code, after a close code that says not to reconnect; reconnects after one that says to', async () => {
    // A real WebSocket peer that answers the subscribe, then closes with the code under test.
    let connections = 0;
    let closeWith = 4501;
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    server.on('connection', (socket) => {
      connections++;
      socket.on('message', (data: Buffer) => {
        const command = JSON.parse(data.toString()) as { id: number; channel: string };
        socket.send(JSON.stringify({ type: 'reply', id: command.id, channel: command.channel, position: { epoch: 'e', offset: 0 } }));
        setImmediate(() => socket.close(closeWith, 'bye'));
      });
    });
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const refused = createClient({ url, transports: ['websocket'], reconnect: { minDelay: 10, maxDelay: 20 } });
      clients.push(refused);
      const errors = new Collector<{ code: unknown }>();
      refused.on('error', (e) => errors.push(e));
      refused.subscribe('x');
      await errors.count(1);
      expect(errors.items[0]!.code).toBe(4501);
      expect(refused.state).toBe('closed');
      expect(connections).toBe(1);

      closeWith = 4001;
      const retried = createClient({ url, transports: ['websocket'], reconnect: { minDelay: 10, maxDelay: 20 } });
      clients.push(retried);
      retried.subscribe('x');
      await eventually(() => connections >= 4, 'reconnects after 4001');
      expect(retried.state).not.toBe('closed');
      retried.close();
    } finally {
      for (const c of clients.splice(0)) c.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('resume across connection loss and restarts', () => {
  let hub: TestHub | undefined;
  const clients: HeraldClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await hub?.close();
    hub = undefined;
  });

  it.each<TransportName>(['websocket', 'sse', 'polling'])(
    '%s: 10,000 messages with the connection dropped repeatedly → every offset once, in order',
    async (transport) => {
      hub = await startTestHub({ historySize: 20_000 });
      const client = createClient({ url: hub.url, transports: [transport], reconnect: { minDelay: 5, maxDelay: 50 }, pollWait: 5 });
      clients.push(client);
      const ledger: number[] = [];
      const sub = client.subscribe('ledger', (m: Envelope) => ledger.push(m.offset));
      await new Promise<void>((resolve) => sub.on('state', (s) => s === 'subscribed' && resolve()));
      const reconnects = new Collector<string>();
      client.on('state', (s) => s === 'connected' && reconnects.push(s));
      for (let i = 1; i <= 10_000; i++) {
        await hub.server.hub.publish('ledger', i);
        if (i % 2000 === 0) {
          // A poller only notices a drop that cuts a poll in flight (between two polls the next one
          // opens a new connection): drop while the hub holds one, so every drop is a loss to it.
          if (transport === 'polling') await eventually(() => hub!.server.stats().polling > 0, 'a poll held by the hub');
          hub.server.dropConnections();
          hub.server.server.closeAllConnections();
        }
        if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await eventually(() => ledger.length >= 10_000, '10,000 messages');
      expect(ledger).toEqual(Array.from({ length: 10_000 }, (_, i) => i + 1));
      // Five drops; over WebSocket and SSE some may land while the client is still reconnecting from
      // the previous one. Over polling each cut a held poll of a connected client: five reconnects
      // (the last may still be under way when the ledger is complete: it was caught up).
      if (transport === 'polling') await reconnects.count(5);
      else expect(reconnects.items.length).toBeGreaterThanOrEqual(1);
    },
    120_000,
  );
});
