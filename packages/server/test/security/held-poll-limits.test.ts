import { request, type ClientRequest } from 'node:http';
import { ErrorCode } from '@herald/protocol';
import { eventually, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { JwtAuthenticator, Permissions, type NamespaceRules } from '@herald/server';
import { bearer, guardSuite, HS_SECRET, startHub, tokenFor } from './suite.js';
import { httpRequest, publishWith, type HttpAnswer } from './wire.js';

/**
 * A held long poll holds a socket like a stream does: it counts against `connectionsPerIp`,
 * `connectionsPerUser` and the hub-wide `maxConnections`. Past a limit the poll is answered at once
 * (429 + 3002, or 503 + 3001 when the hub is full) with `Retry-After`, and the connection closed; a
 * slot is freed when the poll is answered or its client goes away; health checks and API-key
 * requests are still served when the hub is full.
 */

guardSuite();

const every = (access: NamespaceRules['subscribe']): NamespaceRules => ({
  subscribe: access,
  publish: access,
  history: access,
  presence: access,
});
const API_KEY = 'held-poll-limits-api-key';

let hub: TestHub | undefined;
const held: ClientRequest[] = [];

afterEach(async () => {
  for (const req of held.splice(0)) req.destroy();
  await hub?.close();
  hub = undefined;
});

/** A long poll on `channel` from `localAddress` (any 127.x address), waiting for new messages; resolves with its answer. */
function longPoll(
  channel: string,
  headers: Record<string, string> = {},
  localAddress = '127.0.0.1',
): { answer: Promise<HttpAnswer>; req: ClientRequest } {
  let req!: ClientRequest;
  const answer = new Promise<HttpAnswer>((resolve, reject) => {
    req = request(`${hub!.url}/api/messages?channel=${channel}&since=now&wait=30`, { headers, agent: false, localAddress }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
  held.push(req);
  // Polls the test abandons (destroyed) reject; that is expected.
  answer.catch(() => undefined);
  return { answer, req };
}

/** Resolves once the hub holds `n` polls. */
function holding(n: number): Promise<void> {
  return eventually(() => hub!.server.stats().polling === n, `${n} held polls`);
}

function expectRefused(answer: HttpAnswer, status: number, code: number, message: string, retryAfter: string): void {
  expect({
    status: answer.status,
    body: answer.json,
    retryAfter: answer.headers['retry-after'],
    connection: answer.headers.connection,
  }).toEqual({
    status,
    body: { error: { code, message } },
    retryAfter,
    connection: 'close',
  });
}

describe('held long polls count as connections', () => {
  it('per user: the 4th held poll of a user gets 429 with Retry-After at once; an answered poll frees its slot', async () => {
    hub = await startHub({
      connectionsPerUser: 3,
      security: {
        authenticator: new JwtAuthenticator({ secret: HS_SECRET }),
        permissions: new Permissions({ room: every('authenticated') }),
      },
    });
    const alice = bearer(await tokenFor('alice'));
    const polls = [longPoll('room:a', alice), longPoll('room:b', alice), longPoll('room:c', alice)];
    await holding(3);
    expectRefused(await longPoll('room:d', alice).answer, 429, ErrorCode.RateLimited, 'at most 3 connections per user', '5');
    // SSE shares the same count.
    expect((await httpRequest(`${hub.url}/events?channel=room:e`, { headers: alice })).status).toBe(429);
    // Another user is not affected; a short poll is not held, so not counted.
    const bob = longPoll('room:a', bearer(await tokenFor('bob')));
    await holding(4);
    expect((await httpRequest(`${hub.url}/api/messages?channel=room:a`, { headers: alice })).status).toBe(200);

    await hub.server.hub.publish('room:a', 'wake');
    expect((await polls[0]!.answer).json.messages).toHaveLength(1);
    expect((await bob.answer).status).toBe(200);
    await holding(2);
    const again = longPoll('room:f', alice);
    await holding(3);
    expectRefused(await longPoll('room:g', alice).answer, 429, ErrorCode.RateLimited, 'at most 3 connections per user', '5');
    again.req.destroy();
  });

  it('per IP: anonymous held polls from one address are limited; a client that goes away frees its slot', async () => {
    hub = await startHub({ connectionsPerIp: 2 });
    const first = longPoll('x');
    longPoll('y');
    await holding(2);
    expectRefused(await longPoll('z').answer, 429, ErrorCode.RateLimited, 'at most 2 connections per IP address', '5');
    // Another address is counted apart; a WebSocket from the full address is refused too.
    const other = longPoll('x', {}, '127.0.0.2');
    await holding(3);
    await expect(WsTestClient.connect(hub.wsUrl)).rejects.toThrow(/429/);
    first.req.destroy();
    await holding(2);
    longPoll('z');
    await holding(3);
    other.req.destroy();
  });

  it('hub-wide: past maxConnections held polls from any address get 503 with Retry-After; /livez, /readyz, /healthz and the API key still get through', async () => {
    hub = await startHub({
      maxConnections: 5,
      security: { apiKeys: [API_KEY], permissions: new Permissions({ room: every('anonymous') }) },
    });
    for (let i = 0; i < 5; i++) longPoll('room:a', {}, `127.0.0.${i + 10}`);
    await holding(5);
    for (let i = 0; i < 5; i++) {
      expectRefused(
        await longPoll('room:a', {}, `127.0.0.${i + 20}`).answer,
        503,
        ErrorCode.Unavailable,
        'the hub holds its maximum of 5 connections',
        '1',
      );
    }
    const upgrade = await WsTestClient.connect(hub.wsUrl).catch((error: unknown) => error);
    expect(String(upgrade)).toMatch(/503/);
    for (const path of ['/healthz', '/livez', '/readyz']) expect((await httpRequest(`${hub.url}${path}`)).status, path).toBe(200);
    const published = await publishWith(hub.url, 'room:a', 'from the backend', { 'X-Herald-Key': API_KEY });
    expect(published.status).toBe(200);
    await holding(0);
  });
});
