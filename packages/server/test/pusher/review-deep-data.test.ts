import { createHmac } from 'node:crypto';
import { WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { APP, startPusherHub } from './pusher-fixtures.js';

describe('Pusher door: deeply nested client event data', () => {
  let hub: TestHub | undefined;
  const raw: WsTestClient[] = [];
  afterEach(async () => {
    await Promise.all(raw.splice(0).map((c) => c.close()));
    await hub?.close();
    hub = undefined;
  });

  it('is answered with pusher:error and the connection goes on', async () => {
    hub = await startPusherHub({ maxMessageBytes: 100_000 });
    const client = await WsTestClient.connect(`ws://127.0.0.1:${hub.port}/app/${APP.key}?protocol=7`);
    raw.push(client);
    const [established] = await client.frames.count(1);
    const socketId = (JSON.parse(established.data as string) as { socket_id: string }).socket_id;
    const auth = `${APP.key}:${createHmac('sha256', APP.secret).update(`${socketId}:private-x`).digest('hex')}`;
    client.sendRaw(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'private-x', auth } }));
    await client.frames.until((fs) => fs.some((f) => f.event === 'pusher_internal:subscription_succeeded'), 'subscribed');
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    client.sendRaw(`{"event":"client-deep","channel":"private-x","data":${deep}}`);
    client.sendRaw(`{"event":"pusher:subscribe","data":${deep}}`);
    client.sendRaw(JSON.stringify({ event: 'pusher:ping', data: {} }));
    const frames = await client.frames.until((fs) => fs.some((f) => f.event === 'pusher:pong'), 'pong');
    const errors = frames.filter((f) => f.event === 'pusher:error').map((f) => f.data.message as string);
    expect(errors).toContain('client event data is nested too deeply');
    expect(errors).toHaveLength(2);
    // Nothing was stored.
    expect((await hub.server.hub.read('app1:private-x')).messages).toHaveLength(0);
  });
});
