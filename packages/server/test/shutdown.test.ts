import { CloseCode } from '@herald/protocol';
import { poll, SseTestClient, startTestHub, WsTestClient } from '@herald/testkit';
import { describe, expect, it } from 'vitest';

describe('graceful close', () => {
  it('closes WebSockets with 4001, ends SSE streams, answers held polls, then refuses new work', async () => {
    const hub = await startTestHub();
    const ws = await WsTestClient.connect(hub.wsUrl);
    await ws.request({ type: 'subscribe', channel: 'bye' });
    const sse = await SseTestClient.connect(`${hub.url}/events?channel=bye`);
    await sse.ready();
    const first = await poll(hub.url, 'channel=bye');
    const held = poll(hub.url, `channel=bye&since=${encodeURIComponent(first.body.cursor)}&wait=30`);
    await expect.poll(() => hub.server.stats().polling).toBe(1);

    await hub.close();
    expect((await ws.closed).code).toBe(CloseCode.ServerShutdown);
    await sse.ended;
    expect(sse.retry).toBe(2000);
    expect((await held).body).toEqual({ messages: [], cursor: first.body.cursor });
    await expect(fetch(`${hub.url}/healthz`)).rejects.toThrow();
  });
});
