import { CloseCode } from '@herald/protocol';
import { SseTestClient, startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

describe('bounded send queue: a client that stops reading is disconnected, the others carry on', () => {
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.close();
  });

  it('closes a WebSocket that does not read with 4000 and keeps delivering to a reading one', async () => {
    // Uncompressed: the repetitive payload would deflate to a few bytes and take far longer to fill the queue.
    hub = await startTestHub({ sendQueueBytes: 256 * 1024, compression: false });
    const stalled = await WsTestClient.connect(hub.wsUrl);
    await stalled.request({ type: 'subscribe', channel: 'flood' });
    const healthy = await WsTestClient.connect(hub.wsUrl);
    await healthy.request({ type: 'subscribe', channel: 'flood' });
    // Stop reading: the kernel buffers fill, then the hub's queue passes its limit.
    (stalled.socket as unknown as { _socket: { pause(): void } })._socket.pause();

    const payload = 'x'.repeat(4000);
    let sent = 0;
    while (hub.server.stats().websocket > 1 && sent < 20_000) {
      await hub.server.hub.publish('flood', payload);
      sent++;
      if (sent % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(hub.server.stats().websocket).toBe(1);
    (stalled.socket as unknown as { _socket: { resume(): void } })._socket.resume();
    expect((await stalled.closed).code).toBe(CloseCode.SlowConsumer);
    const got = await healthy.waitForMessages(sent, undefined, 30_000);
    expect(got.map((m) => m.offset)).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
    await healthy.close();
  });

  it('ends an SSE stream that does not read and keeps delivering to a reading one', async () => {
    hub = await startTestHub({ sendQueueBytes: 256 * 1024 });
    const stalled = await SseTestClient.connect(`${hub.url}/events?channel=flood`);
    await stalled.ready();
    const healthy = await SseTestClient.connect(`${hub.url}/events?channel=flood`);
    await healthy.ready();
    stalled.response.socket.pause();
    const payload = 'y'.repeat(4000);
    let sent = 0;
    while (hub.server.stats().sse > 1 && sent < 20_000) {
      await hub.server.hub.publish('flood', payload);
      sent++;
      if (sent % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(hub.server.stats().sse).toBe(1);
    stalled.response.socket.resume();
    await stalled.ended;
    const got = await healthy.waitForMessages(sent, 30_000);
    expect(got.map((m) => m.offset)).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
    await healthy.close();
  });

  it('resumes a replay larger than the send queue, and passes a single message larger than it', async () => {
    hub = await startTestHub({ sendQueueBytes: 64 * 1024, historySize: 1000 });
    const payload = 'z'.repeat(1000);
    for (let i = 0; i < 500; i++) await hub.server.hub.publish('big', payload);
    const { epoch } = await hub.server.hub.position('big');
    const ws = await WsTestClient.connect(hub.wsUrl);
    await ws.request({ type: 'subscribe', channel: 'big', since: { epoch, offset: 0 } });
    const sse = await SseTestClient.connect(
      `${hub.url}/events?channel=big&since=${encodeURIComponent((await ws.request({ type: 'history', channel: 'big', limit: 1 })).cursor)}`,
    );
    // Far more than 64 KiB of replay (about 500 KB) arrives in full.
    expect((await ws.waitForMessages(500)).map((m) => m.offset)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect((await sse.waitForMessages(499)).at(-1).offset).toBe(500);
    // One message of 200 KB, three times the queue limit, is delivered, not taken for slowness.
    await hub.server.hub.publish('big', 'w'.repeat(200_000));
    expect((await ws.waitForMessages(501)).at(-1).data).toHaveLength(200_000);
    expect((await sse.waitForMessages(500)).at(-1).data).toHaveLength(200_000);
    expect(hub.server.stats()).toMatchObject({ websocket: 1, sse: 1 });
    await ws.close();
    await sse.close();
  });
});
