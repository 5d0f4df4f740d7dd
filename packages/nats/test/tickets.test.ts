import { ErrorCode } from '@herald/protocol';
import { NatsTicketStore } from '@herald/nats';
import { TicketRefusedError, type Clock, type Identity, type TicketLimits } from '@herald/server';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deleteStreams, NATS_URL, testPrefix } from './nats-helpers.js';

const prefixes: string[] = [];
const open: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});
afterAll(() => deleteStreams(NATS_URL, prefixes));

/** Two nodes on a bucket of their own (a holder's count must not carry over from another test). */
async function nodes(options: { clock?: Clock; limits?: TicketLimits } = {}): Promise<[NatsTicketStore, NatsTicketStore]> {
  const prefix = testPrefix();
  prefixes.push(prefix);
  const a = await NatsTicketStore.connect({ url: NATS_URL, prefix, ...options });
  open.push(a);
  const b = await NatsTicketStore.connect({ url: NATS_URL, prefix, ...options });
  open.push(b);
  return [a, b];
}

const alice: Identity = {
  user: 'alice',
  authenticated: true,
  expiresAt: undefined,
  grants: { subscribe: ['inbox:alice'], publish: [], history: [], presence: [] },
};
const user = (name: string): Identity => ({ ...alice, user: name });
const clockAt = (time: number): Clock & { time: number } => ({
  time,
  now() {
    return this.time;
  },
});

/** Settles `issue` and reports it as `ok` or the refusal's `code retryAfter message`. */
const outcome = (issued: Promise<unknown>): Promise<string> =>
  issued.then(
    () => 'ok',
    (error: unknown) =>
      error instanceof TicketRefusedError ? `${error.wireCode} ${error.retryAfter} ${error.message}` : `unexpected ${String(error)}`,
  );

describe('NatsTicketStore', () => {
  it('a ticket issued by one node is redeemed once by another; two redeems at once get it once', async () => {
    const [a, b] = await nodes();
    const { ticket, expiresIn } = await a.issue(alice);
    expect(ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(expiresIn).toBe(30);
    expect(await b.redeem(ticket)).toEqual(alice);
    expect(await a.redeem(ticket)).toBeUndefined();
    expect(await b.redeem('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).toBeUndefined();
    const second = await a.issue(alice);
    const redeemed = await Promise.all([
      a.redeem(second.ticket),
      b.redeem(second.ticket),
      a.redeem(second.ticket),
      b.redeem(second.ticket),
    ]);
    expect(redeemed.filter((r) => r !== undefined)).toHaveLength(1);
  });

  it('never outlives the token it stands for (node clock)', async () => {
    const clock = clockAt(1_700_000_000_000);
    const [tickets] = await nodes({ clock });
    const issued = await tickets.issue({ ...alice, expiresAt: clock.time + 5_000 });
    expect(issued.expiresIn).toBe(5);
    clock.time += 5_001;
    expect(await tickets.redeem(issued.ticket)).toBeUndefined();
  });

  it('a flood by one user from two nodes at once gets exactly 16 tickets; another user’s ticket survives it', async () => {
    const [a, b] = await nodes();
    const { ticket } = await a.issue(user('bob'));
    const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => outcome((i % 2 === 0 ? a : b).issue(user('mallory')))));
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(16);
    expect(new Set(outcomes.filter((o) => o !== 'ok'))).toEqual(
      new Set([`${ErrorCode.RateLimited} 30 at most 16 unredeemed tickets at once`]),
    );
    expect((await b.redeem(ticket))?.user).toBe('bob');
  });

  it('a ticket redeemed on one node frees its slot on the other; the rate (5 a second, bursts of 20) holds across nodes', async () => {
    const clock = clockAt(1_900_000_000_000);
    const [a, b] = await nodes({ clock });
    const held: string[] = [];
    for (let i = 0; i < 16; i++) held.push((await a.issue(user('mallory'))).ticket);
    expect(await outcome(b.issue(user('mallory')))).toBe(`${ErrorCode.RateLimited} 30 at most 16 unredeemed tickets at once`);
    for (let i = 0; i < 4; i++) {
      expect(await b.redeem(held.pop()!)).toBeDefined();
      held.push((await (i % 2 === 0 ? a : b).issue(user('mallory'))).ticket);
    }
    expect(await a.redeem(held.pop()!)).toBeDefined();
    expect(await outcome(b.issue(user('mallory')))).toBe(`${ErrorCode.RateLimited} 1 at most 5 tickets per second`);
    clock.time += 199;
    expect(await outcome(a.issue(user('mallory')))).toMatch(/^3002 1 /);
    clock.time += 2;
    expect(await outcome(a.issue(user('mallory')))).toBe('ok');
  });

  it('expired tickets free their slots (node clock)', async () => {
    const clock = clockAt(1_900_000_000_000);
    const [a, b] = await nodes({ clock });
    for (let i = 0; i < 16; i++) await a.issue(user('mallory'));
    clock.time += 29_999;
    expect(await outcome(b.issue(user('mallory')))).toBe(`${ErrorCode.RateLimited} 1 at most 16 unredeemed tickets at once`);
    clock.time += 1;
    const again = await Promise.all(Array.from({ length: 16 }, (_, i) => outcome((i % 2 === 0 ? a : b).issue(user('mallory')))));
    expect(again).toEqual(Array.from({ length: 16 }, () => 'ok'));
  });

  it('a node past max live tickets it issued refuses with 3001', async () => {
    const clock = clockAt(1_900_000_000_000);
    const [a, b] = await nodes({ clock, limits: { max: 3 } });
    for (const name of ['u1', 'u2', 'u3']) await a.issue(user(name));
    clock.time += 1000;
    expect(await outcome(a.issue(user('u4')))).toBe(`${ErrorCode.Unavailable} 29 too many tickets outstanding`);
    expect(await outcome(b.issue(user('u4')))).toBe('ok');
  });

  it('rejects limits out of range and a bad ttl', async () => {
    await expect(NatsTicketStore.connect({ url: NATS_URL, limits: { perHolder: 0 } })).rejects.toThrow(
      new RangeError('tickets perHolder must be an integer ≥ 1'),
    );
    await expect(NatsTicketStore.connect({ url: NATS_URL, ttl: 0 })).rejects.toThrow(RangeError);
  });
});
