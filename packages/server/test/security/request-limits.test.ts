import { ErrorCode } from '@herald/protocol';
import { ManualClock, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createHeraldServer, JwtAuthenticator, Permissions, type RequestKind, type RequestLimits } from '@herald/server';
import { bearer, guardSuite, HS_SECRET, remember, startHub, tokenFor } from './suite.js';
import { httpRequest, type HttpAnswer } from './wire.js';

/**
 * HTTP request rate limits (`requestLimits`): per client IP address and per user, for publish,
 * poll, history and ticket requests. Past a limit: `429`, code 3002, `Retry-After` in whole seconds,
 * after which the request passes again. Addresses are 127.x addresses of this machine.
 */

guardSuite();

const API_KEY = remember('request-limits-backend-key-0123456789');
const permissions = new Permissions({
  room: { subscribe: 'authenticated', publish: 'authenticated', history: 'authenticated', presence: 'none' },
});
let hub: TestHub | undefined;

afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

async function hubWith(clock: ManualClock, requestLimits: RequestLimits): Promise<TestHub> {
  hub = await startHub({
    clock,
    requestLimits,
    security: { authenticator: new JwtAuthenticator({ secret: HS_SECRET, now: clock.now }), permissions, apiKeys: [API_KEY] },
  });
  return hub;
}

/** One request of `kind` from `address`, with `headers` (a token, the API key). */
function send(kind: RequestKind, address: string, headers: Record<string, string>): Promise<HttpAnswer> {
  const url = hub!.url;
  const from = { localAddress: address };
  switch (kind) {
    case 'publish':
      return httpRequest(`${url}/api/publish`, {
        ...from,
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify({ channel: 'room:a', data: 1 }),
      });
    case 'poll':
      return httpRequest(`${url}/api/messages?channel=room:a`, { ...from, headers });
    case 'history':
      return httpRequest(`${url}/api/history?channel=room:a`, { ...from, headers });
    case 'ticket':
      return httpRequest(`${url}/api/ticket`, { ...from, method: 'POST', headers });
  }
}

function expectRefused(answer: HttpAnswer, message: string, retryAfter: string): void {
  expect({ status: answer.status, error: answer.json?.error, retryAfter: answer.headers['retry-after'] }).toEqual({
    status: 429,
    error: { code: ErrorCode.RateLimited, message },
    retryAfter,
  });
}

const statuses = (answers: readonly HttpAnswer[]): number[] => answers.map((a) => a.status);

describe.each<RequestKind>(['publish', 'poll', 'history', 'ticket'])('%s requests', (kind) => {
  it('per IP address: past the burst 429 with Retry-After; another address is not affected; after Retry-After it passes', async () => {
    const clock = new ManualClock();
    await hubWith(clock, { [kind]: { perIp: { perSecond: 2, burst: 3 } } });
    const alice = bearer(await tokenFor('alice', {}, clock.now()));
    const first: HttpAnswer[] = [];
    for (let i = 0; i < 3; i++) first.push(await send(kind, '127.0.0.1', alice));
    expect(statuses(first)).toEqual([200, 200, 200]);
    const refused = await send(kind, '127.0.0.1', alice);
    expectRefused(refused, `at most 2 ${kind} requests per second per IP address`, '1');
    // The same user from another address: only the address was limited.
    expect((await send(kind, '127.0.0.2', alice)).status).toBe(200);
    clock.advance(Number(refused.headers['retry-after']) * 1000);
    expect((await send(kind, '127.0.0.1', alice)).status).toBe(200);
  });

  it('per user: counted across addresses; another user is not affected; after Retry-After it passes', async () => {
    const clock = new ManualClock();
    await hubWith(clock, { [kind]: { perIp: { perSecond: 100, burst: 100 }, perUser: { perSecond: 0.5, burst: 2 } } });
    const [alice, bob] = [bearer(await tokenFor('alice', {}, clock.now())), bearer(await tokenFor('bob', {}, clock.now()))];
    expect(statuses([await send(kind, '127.0.0.1', alice), await send(kind, '127.0.0.2', alice)])).toEqual([200, 200]);
    const refused = await send(kind, '127.0.0.3', alice);
    expectRefused(refused, `at most 0.5 ${kind} requests per second per user`, '2');
    expect((await send(kind, '127.0.0.3', bob)).status).toBe(200);
    clock.advance(1999);
    expectRefused(await send(kind, '127.0.0.1', alice), `at most 0.5 ${kind} requests per second per user`, '1');
    clock.advance(1);
    expect((await send(kind, '127.0.0.1', alice)).status).toBe(200);
  });
});

describe('publish batches', () => {
  /** A batch of `n` messages on room:a from `address`. */
  const batch = (n: number, address: string, headers: Record<string, string>): Promise<HttpAnswer> =>
    httpRequest(`${hub!.url}/api/publish`, {
      localAddress: address,
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify({ messages: Array.from({ length: n }, (_, i) => ({ channel: 'room:a', data: i })) }),
    });

  it('a batch costs one per message, per IP address and per user; refused whole while a bucket has fewer, Retry-After until it has them', async () => {
    const clock = new ManualClock();
    await hubWith(clock, { publish: { perIp: { perSecond: 10, burst: 10 }, perUser: { perSecond: 5, burst: 8 } } });
    const [alice, bob] = [bearer(await tokenFor('alice', {}, clock.now())), bearer(await tokenFor('bob', {}, clock.now()))];
    expect((await batch(6, '127.0.0.1', alice)).status).toBe(200);
    // Alice has 2 left: a batch of 3 is refused; it counted as one request (its head, checked before its body was read).
    const refused = await batch(3, '127.0.0.2', alice);
    expectRefused(refused, 'at most 5 publish requests per second per user (a batch counts one per message)', '1');
    expect((await batch(1, '127.0.0.2', alice)).status).toBe(200);
    expectRefused(await batch(2, '127.0.0.2', alice), 'at most 5 publish requests per second per user', '1');
    // The address 127.0.0.1 spent 6 of 10: bob's batch of 5 from there is refused by the address (after its head took 1).
    expectRefused(
      await batch(5, '127.0.0.1', bob),
      'at most 10 publish requests per second per IP address (a batch counts one per message)',
      '1',
    );
    expect((await batch(3, '127.0.0.1', bob)).status).toBe(200);
    expect((await send('publish', '127.0.0.1', bob)).status).toBe(429);
    // 5 per second: after 0.6 s alice has 3 again.
    clock.advance(600);
    expect((await batch(3, '127.0.0.2', alice)).status).toBe(200);
    const history = await send('history', '127.0.0.3', alice);
    expect((history.json as { messages: unknown[] }).messages).toHaveLength(6 + 1 + 3 + 3);
  });

  it('a batch larger than the burst is refused with 1009 (it could never pass), and the API key is not counted', async () => {
    const clock = new ManualClock();
    await hubWith(clock, { publish: { perIp: { perSecond: 10, burst: 4 } } });
    const alice = bearer(await tokenFor('alice', {}, clock.now()));
    const tooLarge = await batch(5, '127.0.0.1', alice);
    expect({ status: tooLarge.status, error: tooLarge.json?.error }).toEqual({
      status: 400,
      error: {
        code: ErrorCode.LimitExceeded,
        message: "a batch of 5 messages is more than the publish limit's burst of 4 per IP address: send at most 4 in one request",
      },
    });
    expect((await batch(4, '127.0.0.1', { 'X-Herald-Key': API_KEY })).status).toBe(200);
    expect((await batch(50, '127.0.0.1', { 'X-Herald-Key': API_KEY })).status).toBe(200);
    expect((await batch(3, '127.0.0.1', alice)).status).toBe(200);
  });
});

describe('who is not limited', () => {
  it('requests with a valid API key count against neither their address nor a user', async () => {
    const clock = new ManualClock();
    await hubWith(clock, {
      publish: { perIp: { perSecond: 1, burst: 1 }, perUser: { perSecond: 1, burst: 1 } },
      history: { perIp: { perSecond: 1, burst: 1 } },
    });
    const key = { 'X-Herald-Key': API_KEY };
    const answers: HttpAnswer[] = [];
    for (let i = 0; i < 5; i++) answers.push(await send('publish', '127.0.0.1', key), await send('history', '127.0.0.1', key));
    expect(statuses(answers)).toEqual(Array<number>(10).fill(200));
    // A client from the same address still has its own bucket, full.
    const alice = bearer(await tokenFor('alice', {}, clock.now()));
    expect((await send('publish', '127.0.0.1', alice)).status).toBe(200);
    expect((await send('publish', '127.0.0.1', alice)).status).toBe(429);
  });

  it('kinds are counted apart, and a hub without requestLimits limits nothing', async () => {
    const clock = new ManualClock();
    await hubWith(clock, { poll: { perIp: { perSecond: 1, burst: 1 } } });
    const alice = bearer(await tokenFor('alice', {}, clock.now()));
    expect(statuses([await send('poll', '127.0.0.1', alice), await send('poll', '127.0.0.1', alice)])).toEqual([200, 429]);
    const others: HttpAnswer[] = [];
    for (let i = 0; i < 5; i++) others.push(await send('history', '127.0.0.1', alice), await send('publish', '127.0.0.1', alice));
    expect(statuses(others)).toEqual(Array<number>(10).fill(200));
  });
});

describe('refusals', () => {
  it('a refused publish is not read: the answer closes the connection, and carries the CORS headers', async () => {
    const clock = new ManualClock();
    await hubWith(clock, { publish: { perIp: { perSecond: 1, burst: 1 } }, history: { perIp: { perSecond: 1, burst: 1 } } });
    const alice = { ...bearer(await tokenFor('alice', {}, clock.now())), Origin: 'https://app.example.com' };
    expect((await send('publish', '127.0.0.1', alice)).status).toBe(200);
    const refused = await send('publish', '127.0.0.1', alice);
    expect(refused.status).toBe(429);
    expect(refused.headers.connection).toBe('close');
    expect(refused.headers['access-control-allow-origin']).toBe('*');
    // A read has no body to skip: the connection stays usable (Node's global agent keeps it alive).
    const history = (): Promise<HttpAnswer> => httpRequest(`${hub!.url}/api/history?channel=room:a`, { headers: alice });
    expect((await history()).status).toBe(200);
    const read = await history();
    expect({ status: read.status, connection: read.headers.connection }).toEqual({ status: 429, connection: 'keep-alive' });
  });

  it('a limit out of range throws a RangeError naming it', () => {
    expect(() => createHeraldServer({ requestLimits: { poll: { perIp: { perSecond: 0, burst: 1 } } } })).toThrow(
      new RangeError('requestLimits.poll.perIp.perSecond must be a number > 0'),
    );
    expect(() => createHeraldServer({ requestLimits: { ticket: { perUser: { perSecond: 1, burst: 1.5 } } } })).toThrow(
      new RangeError('requestLimits.ticket.perUser.burst must be an integer ≥ 1'),
    );
  });
});
