import { createClient, type HeraldClient, type TransportName } from '@herald/client/node';
import { encodePosition } from '@herald/protocol';
import { JwtAuthenticator, Permissions } from '@herald/server';
import { startTestHub, type TestHub } from '@herald/testkit';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Review of issue 9, item 2 (docs/operations.md, "Signed positions and the cursor key"): after the
 * cursor key changes (API keys rotated, or a hub without API keys nor cursorSecrets restarted), a
 * client without history holding an older signed position is refused (2001) and, the docs say,
 * "starts again from now". They do not: over the WebSocket and SSE the subscription ends with the
 * 2001; over polling the whole poll is refused (403), so every channel of the client stops and the
 * client reconnects without end. Fixed on the hub: a signature it cannot verify starts the channel
 * at the end of its log after a `cursor` gap, on every transport.
 */

const SECRET = 'stale-cursor-secret-0123456789abcdef';
let hub: TestHub;
let token: string;
const clients: HeraldClient[] = [];

beforeAll(async () => {
  hub = await startTestHub({
    security: {
      authenticator: new JwtAuthenticator({ secret: SECRET }),
      apiKeys: ['stale-cursor-api-key-0123456789'],
      permissions: new Permissions({
        room: { subscribe: 'authenticated', publish: 'none', history: 'none', presence: 'none' },
        open: { subscribe: 'authenticated', publish: 'none', history: 'authenticated', presence: 'none' },
      }),
    },
  });
  token = await new SignJWT({ sub: 'carol' })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));
});
afterAll(async () => {
  for (const c of clients.splice(0)) c.close();
  await hub.close();
});

describe.each<TransportName>(['websocket', 'sse', 'polling'])('a stale signed cursor over %s', (transport) => {
  it('the subscription starts again from now, after a cursor gap, and the client carries on', async () => {
    const channel = `room:${transport}`;
    await hub.server.hub.publish(channel, 'backlog');
    const { epoch } = await hub.server.hub.position(channel);
    // Signed with a key the hub no longer has (the shape of a real signature, 16 characters).
    const stale = encodePosition(channel, { epoch, offset: 1, mac: 'AAAAAAAAAAAAAAAA' });
    const client = createClient({ url: hub.url, transports: [transport], token, pollWait: 1, reconnect: { minDelay: 20, maxDelay: 50 } });
    clients.push(client);
    const errors: unknown[] = [];
    client.on('error', (e) => errors.push(e));
    const other = client.subscribe('open:1');
    const gaps: unknown[] = [];
    const sub = client.subscribe(channel, undefined, { since: stale });
    sub.on('gap', (gap) => gaps.push(gap));
    const received: unknown[] = [];
    sub.on('message', (m) => received.push(m.data));
    await new Promise<void>((resolve) =>
      sub.state === 'subscribed' ? resolve() : sub.on('state', (s) => s === 'subscribed' && resolve()),
    );
    await new Promise<void>((resolve) =>
      other.state === 'subscribed' ? resolve() : other.on('state', (s) => s === 'subscribed' && resolve()),
    );
    // The channel starts where the hub stood when it saw the cursor: publish once it did.
    await new Promise<void>((resolve) => (gaps.length > 0 ? resolve() : sub.on('gap', () => resolve())));
    await hub.server.hub.publish(channel, 'after');
    await new Promise<void>((resolve) => (received.length > 0 ? resolve() : sub.on('message', () => resolve())));
    expect(received).toEqual(['after']);
    expect(gaps).toMatchObject([{ channel, reason: 'cursor', requested: { epoch, offset: 1 }, resumed: { epoch, offset: 1 } }]);
    expect({ sub: sub.state, other: other.state, client: client.state, errors }).toEqual({
      sub: 'subscribed',
      other: 'subscribed',
      client: 'connected',
      errors: [],
    });
  });
});
