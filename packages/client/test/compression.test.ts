import type { IncomingMessage } from 'node:http';
import { msgpack } from '@herald/client/msgpack';
import { createClient, type Envelope, type HeraldClient } from '@herald/client/node';
import { startTestHub, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

const big = { rows: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `sensor-${i}`, value: i * 1.5 })) };

describe('Node SDK: compression option', () => {
  let hub: TestHub | undefined;
  let client: HeraldClient | undefined;
  afterEach(async () => {
    client?.close();
    await hub?.close();
  });

  it.each([
    [true, 'permessage-deflate'],
    [false, undefined],
    [undefined, undefined],
  ])('compression: %s offers permessage-deflate only when asked, and receives the same data', async (compression, offered) => {
    hub = await startTestHub();
    const offers: (string | undefined)[] = [];
    hub.server.server.on('upgrade', (req: IncomingMessage) => offers.push(req.headers['sec-websocket-extensions']));
    client = createClient({ url: hub.url, transports: ['websocket'], ...(compression !== undefined && { compression }) });
    const got: Envelope[] = [];
    const subscription = client.subscribe('dash', (envelope) => got.push(envelope));
    await new Promise<void>((resolve) => subscription.on('state', (s) => s === 'subscribed' && resolve()));
    await hub.server.hub.publish('dash', big);
    await hub.server.hub.publish('dash', 'small');
    const published = await client.publish('dash', big);
    expect(published.offset).toBe(3);
    await expect.poll(() => got.length).toBe(3);
    expect(got.map((e) => e.data)).toEqual([big, 'small', big]);
    expect(offers).toHaveLength(1);
    if (offered === undefined) expect(offers[0]).toBeUndefined();
    else expect(offers[0]).toContain(offered);
  });

  it('format: msgpack with compression: the hub compresses binary pushes, the SDK reads them', async () => {
    hub = await startTestHub();
    const extensions: (string | undefined)[] = [];
    hub.server.server.on('upgrade', (req: IncomingMessage) => extensions.push(req.headers['sec-websocket-extensions']));
    client = createClient({ url: hub.url, transports: ['websocket'], format: msgpack, compression: true });
    const got: Envelope[] = [];
    const subscription = client.subscribe('dash', (envelope) => got.push(envelope));
    await new Promise<void>((resolve) => subscription.on('state', (s) => s === 'subscribed' && resolve()));
    await hub.server.hub.publish('dash', big);
    await hub.server.hub.publish('dash', 'small');
    await expect.poll(() => got.length).toBe(2);
    expect(got.map((e) => e.data)).toEqual([big, 'small']);
    expect(extensions[0]).toContain('permessage-deflate');
  });
});
