import { Collector, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { postJson, refusal, sdkFor } from './api-helpers.js';
import { APP, clientOptions, PusherClients, startAuthApp, startPusherHub, type AuthApp, type PusherJs } from './pusher-fixtures.js';

/** Signs `client` in and resolves once pusher-js subscribed its user channel. */
async function signedIn(client: PusherJs, user: string): Promise<void> {
  const subscribed = new Promise<void>((resolve, reject) => {
    client.connection.bind('message', (m: { event: string; channel?: string }) => {
      if (m.event === 'pusher_internal:subscription_succeeded' && m.channel === `#server-to-user-${user}`) resolve();
      if (m.event === 'pusher:subscription_error') reject(new Error(JSON.stringify(m)));
    });
  });
  client.signin();
  await subscribed;
}

describe('Pusher HTTP API: sendToUser (#server-to-user-{id})', () => {
  let hub: TestHub | undefined;
  let auth: AuthApp | undefined;
  const clients = new PusherClients();
  const herald: WsTestClient[] = [];
  afterEach(async () => {
    clients.closeAll();
    await Promise.all(herald.splice(0).map((c) => c.close()));
    await hub?.close();
    await auth?.close();
    hub = auth = undefined;
  });

  it('the SDK’s sendToUser reaches the signed-in pusher-js user (user.bind), and no one else', async () => {
    hub = await startPusherHub();
    auth = await startAuthApp();
    const alice = await clients.connect(clientOptions(hub, auth, 'alice'));
    const bob = await clients.connect(clientOptions(hub, auth, 'bob'));
    await signedIn(alice, 'alice');
    await signedIn(bob, 'bob');
    const watcher = await WsTestClient.connect(hub.wsUrl);
    herald.push(watcher);
    await watcher.request({ type: 'subscribe', channel: 'app1:~23server-to-user-alice' });
    const gotAlice = new Collector<unknown>();
    const gotBob = new Collector<unknown>();
    alice.user.bind('hello', (data: unknown) => gotAlice.push(data));
    bob.user.bind('hello', (data: unknown) => gotBob.push(data));
    const sdk = sdkFor(hub, APP);
    expect((await sdk.sendToUser('alice', 'hello', { x: 1 })).status).toBe(200);
    await sdk.sendToUser('bob', 'hello', { x: 2 });
    expect(await gotAlice.count(1)).toEqual([{ x: 1 }]);
    expect(await gotBob.count(1)).toEqual([{ x: 2 }]);
    // The mapped Herald channel (`#` escaped) holds it too.
    const [message] = await watcher.waitForMessages(1, 'app1:~23server-to-user-alice');
    expect(message.data).toEqual({ event: 'hello', data: { x: 1 } });
  });

  it('a channel name with other characters is still refused with 400', async () => {
    hub = await startPusherHub();
    const answer = await refusal(postJson(sdkFor(hub, APP), '/events', { name: 'e', channel: 'bad#name', data: 'x' }));
    expect(answer.status).toBe(400);
    expect(answer.body).toContain('Invalid channel name');
  });
});
