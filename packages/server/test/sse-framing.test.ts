import { SseTestClient, startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

describe('SSE framing and ordering', () => {
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.close();
  });

  it('never lets CR, LF, CRLF or NUL in published data forge an event', async () => {
    hub = await startTestHub();
    const sse = await SseTestClient.connect(`${hub.url}/events?channel=inj`);
    await sse.ready();
    const nasty = [
      'a\nevent: forged\ndata: {"x":1}\n\n',
      'b\r\nid: evil\r\n\r\n',
      'c\rdata: y\r\r',
      'd\u0000e',
      { 'k\n\nevent: x': '\r\n' },
    ];
    for (const data of nasty) await hub.server.hub.publish('inj', data);
    const got = await sse.waitForMessages(nasty.length);
    expect(got.map((m) => m.data)).toEqual(nasty);
    expect(sse.events.items.every((e) => e.event === 'message')).toBe(true);
    expect(sse.events.items).toHaveLength(nasty.length);
    expect(sse.lastEventId).toMatch(/^c1\.[A-Za-z0-9_-]+$/);
    await sse.close();
  });

  it('sends heartbeat comments', async () => {
    hub = await startTestHub({ heartbeatInterval: 20 });
    const sse = await SseTestClient.connect(`${hub.url}/events?channel=hb`);
    await sse.ready();
    await expect.poll(() => sse.comments.length, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    expect(sse.events.items).toEqual([]);
    await sse.close();
  });

  it('gives every subscriber the same order when ten publishers publish at once', async () => {
    hub = await startTestHub();
    const clients = await Promise.all([1, 2, 3].map(() => WsTestClient.connect(hub!.wsUrl)));
    for (const client of clients) await client.request({ type: 'subscribe', channel: 'race' });
    const sse = await SseTestClient.connect(`${hub.url}/events?channel=race`);
    await sse.ready();
    const publishers = await Promise.all(Array.from({ length: 10 }, () => WsTestClient.connect(hub!.wsUrl)));
    await Promise.all(
      publishers.map((p, n) =>
        Promise.all(Array.from({ length: 30 }, (_, i) => p.request({ type: 'publish', channel: 'race', data: `${n}:${i}` }))),
      ),
    );
    const orders = await Promise.all(clients.map(async (c) => (await c.waitForMessages(300)).map((m) => `${m.offset}=${m.data}`)));
    const sseOrder = (await sse.waitForMessages(300)).map((m) => `${m.offset}=${m.data}`);
    for (const order of [...orders, sseOrder]) expect(order).toEqual(orders[0]);
    expect(orders[0]!.map((o) => Number(o.split('=')[0]))).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    await Promise.all([...clients, ...publishers].map((c) => c.close()));
    await sse.close();
  });
});
