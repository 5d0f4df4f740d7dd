import { publishHttp, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { isProtocolEvent, pusherDelivery } from '../../src/pusher/pusher-delivery.js';
import { HubMessage } from '../../src/hub/hub-message.js';
import { serializeEnvelope } from '../../src/engine/broker.js';
import { clientOptions, PusherClients, startAuthApp, startPusherHub, subscribed, type AuthApp } from './pusher-fixtures.js';

interface Members {
  count: number;
  members: Record<string, unknown>;
}

describe('Pusher door: protocol events are never relayed from the log', () => {
  let hub: TestHub | undefined;
  let auth: AuthApp | undefined;
  const clients = new PusherClients();
  afterEach(async () => {
    clients.closeAll();
    await hub?.close();
    await auth?.close();
    hub = auth = undefined;
  });

  it('a Herald publish of pusher_internal:member_added / member_removed / pusher:… does not reach pusher-js', async () => {
    hub = await startPusherHub();
    auth = await startAuthApp();
    const alice = await clients.connect(clientOptions(hub, auth, 'alice'));
    await subscribed(alice, 'presence-room');
    const channel = alice.channel('presence-room') as unknown as { members: Members };
    expect(Object.keys(channel.members.members)).toEqual(['alice']);
    const seen: string[] = [];
    alice.connection.bind('message', (m: { event: string }) => seen.push(m.event));
    const publish = (data: unknown): Promise<unknown> => publishHttp(hub!.url, 'app1:presence-room', data);
    await publish({ event: 'pusher_internal:member_added', data: { user_id: 'ghost', user_info: { name: 'CEO' } } });
    await publish({ event: 'pusher_internal:member_removed', data: { user_id: 'alice' } });
    await publish({ event: 'pusher:error', data: { code: 4009, message: 'forged' } });
    await publish({ event: 'pusher:subscription_succeeded', data: '{}' });
    await publish({ event: 'marker', data: 'end' });
    await new Promise<void>((resolve) => alice.channel('presence-room').bind('marker', () => resolve()));
    expect(seen).toEqual(['marker']);
    expect(channel.members.count).toBe(1);
    expect(Object.keys(channel.members.members)).toEqual(['alice']);
  });

  it('a cache channel whose last message is a protocol event answers pusher:cache_miss', async () => {
    hub = await startPusherHub();
    await publishHttp(hub.url, 'app1:cache-x', { event: 'pusher_internal:subscription_succeeded', data: '{}' });
    const client = await clients.connect(clientOptions(hub));
    const channel = client.subscribe('cache-x');
    await new Promise<void>((resolve) => channel.bind('pusher:cache_miss', () => resolve()));
  });

  it('isProtocolEvent and pusherDelivery', () => {
    expect(isProtocolEvent('pusher:ping')).toBe(true);
    expect(isProtocolEvent('pusher_internal:member_added')).toBe(true);
    expect(isProtocolEvent('pusherx')).toBe(false);
    expect(isProtocolEvent('client-pusher:x')).toBe(false);
    const data = JSON.stringify({ event: 'pusher_internal:member_added', data: { user_id: 'x' } });
    const message = new HubMessage({
      channel: 'app1:c',
      epoch: 'e',
      offset: 1,
      time: 0,
      json: serializeEnvelope('app1:c', 'e', 1, 0, data),
    });
    expect(pusherDelivery(message, 'c').frame).toBeUndefined();
  });
});
