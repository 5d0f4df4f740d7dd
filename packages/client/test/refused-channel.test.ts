import { createClient, type HeraldClient, type Subscription, type TransportName } from '@herald/client/node';
import { ErrorCode } from '@herald/protocol';
import { ALLOW_ALL, DENY_ALL, Permissions } from '@herald/server';
import { Collector, eventually, startTestHub, type TestHub } from '@herald/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/** Resolves with the code of `sub`'s error; rejects when the whole client stops instead. */
function refusal(client: HeraldClient, sub: Subscription): Promise<unknown> {
  return new Promise((resolve, reject) => {
    sub.on('error', (error) => resolve((error as { code: unknown }).code));
    client.on('error', (error) => reject(new Error(`the client stopped: ${(error as Error).message}`)));
  });
}

// `open:` channels anyone may read, `closed:` ones nobody may: the hub refuses those with 2001.
describe.each<TransportName>(['polling', 'websocket', 'sse'])('one refused channel, over %s', (transport) => {
  let hub: TestHub;
  let client: HeraldClient;
  beforeEach(async () => {
    hub = await startTestHub({ security: { permissions: new Permissions({ open: ALLOW_ALL, closed: DENY_ALL }) } });
    client = createClient({ url: hub.url, transports: [transport], pollWait: 5, reconnect: { minDelay: 20, maxDelay: 100 } });
  });
  afterEach(async () => {
    client.close();
    await hub.close();
  });

  it('fails only its own subscription: the others keep receiving, the connection stays up', async () => {
    const got = new Collector<unknown>();
    const kept = client.subscribe('open:a', (m) => got.push(m.data));
    const refused = client.subscribe('closed:b');
    const code = refusal(client, refused);
    // Both asked for before the connection opens: the refusal comes with the connection's first request.
    await expect(code).resolves.toBe(ErrorCode.Forbidden);
    await eventually(() => kept.state === 'subscribed', 'the kept subscription subscribed');
    expect(refused.state).toBe('unsubscribed');
    await hub.server.hub.publish('open:a', 1);
    await got.count(1);

    // One refused on a connection already up, resuming from a position (polling checks it on its next poll).
    const position = await hub.server.hub.publish('closed:c', 'x');
    const later = client.subscribe('closed:c', undefined, { since: { epoch: position.epoch, offset: 0 } });
    await expect(refusal(client, later)).resolves.toBe(ErrorCode.Forbidden);
    expect(later.state).toBe('unsubscribed');
    await hub.server.hub.publish('open:a', 2);
    await got.count(2);
    expect(got.items).toEqual([1, 2]);
    expect(client.state).toBe('connected');
    expect(kept.state).toBe('subscribed');
  });
});
