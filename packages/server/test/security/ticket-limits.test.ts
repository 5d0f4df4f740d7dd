import { ErrorCode } from '@herald/protocol';
import { ManualClock, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ANONYMOUS,
  JwtAuthenticator,
  MemoryTicketStore,
  Permissions,
  TicketRefusedError,
  type Identity,
  type TicketLimits,
} from '@herald/server';
import { bearer, guardSuite, HS_SECRET, remember, startHub, tokenFor } from './suite.js';
import { httpRequest, type HttpAnswer } from './wire.js';

/**
 * `POST /api/ticket` limits: per user at most 16 unredeemed tickets and 5 a second (bursts of 20),
 * 100,000 in the store. Past a limit the hub refuses (429 or 503 with `Retry-After`); it never
 * drops someone else's ticket to make room.
 */

guardSuite();

const permissions = new Permissions({
  members: { subscribe: 'authenticated', publish: 'none', history: 'authenticated', presence: 'none' },
});
const hubs: TestHub[] = [];

afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.close();
});

async function hubWith(clock: ManualClock, ticketLimits: TicketLimits = {}): Promise<TestHub> {
  const hub = await startHub({
    clock,
    security: { authenticator: new JwtAuthenticator({ secret: HS_SECRET, now: clock.now }), permissions, ticketLimits },
  });
  hubs.push(hub);
  return hub;
}

async function issue(hub: TestHub, token: string): Promise<HttpAnswer> {
  const answer = await httpRequest(`${hub.url}/api/ticket`, { method: 'POST', headers: bearer(token) });
  if (typeof answer.json?.ticket === 'string') remember(answer.json.ticket);
  return answer;
}

/** Uses a ticket (a poll); resolves with the status: 200 when it was still valid. */
async function redeem(hub: TestHub, ticket: string): Promise<number> {
  return (await httpRequest(`${hub.url}/api/history?channel=members:room&ticket=${ticket}`)).status;
}

function expectRefused(answer: HttpAnswer, status: number, code: number, message: string, retryAfter: string): void {
  expect({ status: answer.status, error: answer.json?.error, retryAfter: answer.headers['retry-after'] }).toEqual({
    status,
    error: { code, message },
    retryAfter,
  });
}

describe('per-user ticket limits over HTTP', () => {
  it('a flood of tickets by one user leaves another user’s ticket valid; past 16 unredeemed the flooder gets 429 with Retry-After', async () => {
    const clock = new ManualClock();
    const hub = await hubWith(clock);
    const [mallory, bob] = [await tokenFor('mallory', {}, clock.now()), await tokenFor('bob', {}, clock.now())];
    const victim = (await issue(hub, bob)).json.ticket as string;
    const answers: HttpAnswer[] = [];
    for (let i = 0; i < 60; i++) answers.push(await issue(hub, mallory));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(16);
    for (const refused of answers.slice(16))
      expectRefused(refused, 429, ErrorCode.RateLimited, 'at most 16 unredeemed tickets at once', '30');
    expect(await redeem(hub, victim)).toBe(200);
    // Bob's own quota is untouched by mallory's.
    expect((await issue(hub, bob)).status).toBe(200);
  });

  it('redeeming a ticket frees its slot; past 20 in a row the rate (5 a second) applies, with Retry-After', async () => {
    const clock = new ManualClock();
    const hub = await hubWith(clock);
    const mallory = await tokenFor('mallory', {}, clock.now());
    const held: string[] = [];
    for (let i = 0; i < 16; i++) held.push((await issue(hub, mallory)).json.ticket as string);
    expectRefused(await issue(hub, mallory), 429, ErrorCode.RateLimited, 'at most 16 unredeemed tickets at once', '30');
    // Four more fit the burst of 20, each after one redeemed ticket made room.
    for (let i = 0; i < 4; i++) {
      expect(await redeem(hub, held.pop()!)).toBe(200);
      held.push((await issue(hub, mallory)).json.ticket as string);
    }
    expect(await redeem(hub, held.pop()!)).toBe(200);
    expectRefused(await issue(hub, mallory), 429, ErrorCode.RateLimited, 'at most 5 tickets per second', '1');
    clock.advance(199);
    expect((await issue(hub, mallory)).status).toBe(429);
    clock.advance(2);
    expect((await issue(hub, mallory)).status).toBe(200);
  });

  it('expired tickets free their slots (hub clock)', async () => {
    const clock = new ManualClock();
    const hub = await hubWith(clock);
    const mallory = await tokenFor('mallory', {}, clock.now());
    for (let i = 0; i < 16; i++) expect((await issue(hub, mallory)).status).toBe(200);
    clock.advance(29_999);
    expectRefused(await issue(hub, mallory), 429, ErrorCode.RateLimited, 'at most 16 unredeemed tickets at once', '1');
    clock.advance(1);
    for (let i = 0; i < 16; i++) expect((await issue(hub, mallory)).status).toBe(200);
  });

  it('when the store is full, new tickets are refused with 503 and Retry-After; the tickets held stay valid', async () => {
    const clock = new ManualClock();
    const hub = await hubWith(clock, { max: 20 });
    const victim = (await issue(hub, await tokenFor('bob', {}, clock.now()))).json.ticket as string;
    clock.advance(1000);
    const flooders = [await tokenFor('u1', {}, clock.now()), await tokenFor('u2', {}, clock.now())];
    const statuses: number[] = [];
    for (const token of flooders) for (let i = 0; i < 16; i++) statuses.push((await issue(hub, token)).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(19);
    // Room again when bob's ticket (the first to expire) does: 29 s from now.
    expectRefused(await issue(hub, flooders[1]!), 503, ErrorCode.Unavailable, 'too many tickets outstanding', '29');
    expect(await redeem(hub, victim)).toBe(200);
    expect((await issue(hub, flooders[1]!)).status).toBe(200);
  });
});

describe('MemoryTicketStore', () => {
  const user = (name: string): Identity => ({ ...ANONYMOUS, user: name, authenticated: true });

  it('100,000 tickets issued to one user do not evict another user’s ticket', async () => {
    const store = new MemoryTicketStore(new ManualClock());
    const { ticket } = await store.issue(user('bob'));
    let refused = 0;
    for (let i = 0; i < 100_000; i++) {
      await store.issue(user('mallory')).catch((error: unknown) => {
        if (error instanceof TicketRefusedError) refused++;
      });
    }
    expect(refused).toBe(100_000 - 16);
    expect((await store.redeem(ticket))?.user).toBe('bob');
  });

  it('counts anonymous tickets against the holder the hub names (the client address)', async () => {
    const store = new MemoryTicketStore(new ManualClock(), 30, { perHolder: 1 });
    await store.issue(ANONYMOUS, 'ip:10.0.0.1');
    await expect(store.issue(ANONYMOUS, 'ip:10.0.0.1')).rejects.toThrow('at most 1 unredeemed tickets at once');
    await expect(store.issue(ANONYMOUS, 'ip:10.0.0.2')).resolves.toHaveProperty('expiresIn', 30);
  });

  it('refuses limits out of range with RangeError', () => {
    const clock = new ManualClock(0);
    expect(() => new MemoryTicketStore(clock, 30, { perHolder: 0 })).toThrow(new RangeError('tickets perHolder must be an integer ≥ 1'));
    expect(() => new MemoryTicketStore(clock, 30, { burst: 1.5 })).toThrow(new RangeError('tickets burst must be an integer ≥ 1'));
    expect(() => new MemoryTicketStore(clock, 30, { max: -1 })).toThrow(new RangeError('tickets max must be an integer ≥ 1'));
    expect(() => new MemoryTicketStore(clock, 30, { perSecond: 0 })).toThrow(new RangeError('tickets perSecond must be a number > 0'));
  });
});
