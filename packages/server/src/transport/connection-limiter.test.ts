import { ErrorCode } from '@herald/protocol';
import { describe, expect, it } from 'vitest';
import { ConnectionLimiter, UNLIMITED, type ConnectionSlot, type Refusal } from './connection-limiter.js';

const slotOf = (outcome: ConnectionSlot | Refusal | { refused: string }): ConnectionSlot => {
  if ('refused' in outcome) throw new Error(`refused: ${outcome.refused}`);
  return outcome;
};

describe('ConnectionLimiter', () => {
  it('counts nothing and hands out the shared UNLIMITED slot when there are no limits', () => {
    const limiter = new ConnectionLimiter(Infinity, Infinity);
    expect(limiter.acquire('10.0.0.1', 'ann')).toBe(UNLIMITED);
    expect(limiter.size).toBe(0);
  });

  it('counts against the total only, and a slot released twice gives back one connection', () => {
    const limiter = new ConnectionLimiter(Infinity, Infinity, 2);
    const first = slotOf(limiter.acquire('10.0.0.1', null));
    slotOf(limiter.acquire('10.0.0.2', null));
    expect(limiter.acquire('10.0.0.3', null)).toEqual({
      refused: 'the hub holds its maximum of 2 connections',
      code: ErrorCode.Unavailable,
    });
    first.release();
    first.release();
    expect(limiter.size).toBe(1);
    slotOf(limiter.acquire('10.0.0.3', null));
    expect(limiter.acquire('10.0.0.4', null)).toMatchObject({ code: ErrorCode.Unavailable });
  });

  it('counts per IP and per user, and releases each once', () => {
    const limiter = new ConnectionLimiter(1, 1);
    const slot = slotOf(limiter.acquire('10.0.0.1', 'ann'));
    expect(limiter.acquire('10.0.0.1', 'bob')).toEqual({ refused: 'at most 1 connections per IP address', code: ErrorCode.RateLimited });
    expect(limiter.acquire('10.0.0.2', 'ann')).toEqual({ refused: 'at most 1 connections per user', code: ErrorCode.RateLimited });
    slot.release();
    slot.release();
    const again = slotOf(limiter.acquire('10.0.0.2', 'ann'));
    expect(limiter.size).toBe(1);
    again.release();
    expect(limiter.size).toBe(0);
  });

  it('counts an IPv6 client by its /64 and an IPv4-mapped one as its IPv4 address, as the request limits do', () => {
    const limiter = new ConnectionLimiter(1, Infinity);
    const slot = slotOf(limiter.acquire('2001:db8:0:1::1', null));
    // Another address of the same /64: the same client (it could rotate through 2^64 of them).
    expect(limiter.acquire('2001:db8:0:1:ffff::2', null)).toMatchObject({ code: ErrorCode.RateLimited });
    slotOf(limiter.acquire('2001:db8:0:2::1', null));
    const v4 = slotOf(limiter.acquire('192.0.2.1', null));
    expect(limiter.acquire('::ffff:192.0.2.1', null)).toMatchObject({ code: ErrorCode.RateLimited });
    slot.release();
    v4.release();
    slotOf(limiter.acquire('2001:db8:0:1::3', null));
  });

  it('acquireUser counts the user only (the IP was counted at connect), and its release is idempotent', () => {
    const limiter = new ConnectionLimiter(1, 1);
    const connection = slotOf(limiter.acquire('10.0.0.1', null));
    const user = slotOf(limiter.acquireUser('ann'));
    expect(limiter.acquireUser('ann')).toEqual({ refused: 'at most 1 connections per user' });
    user.release();
    user.release();
    expect(limiter.size).toBe(1);
    slotOf(limiter.acquireUser('ann'));
    connection.release();
    expect(limiter.size).toBe(0);
  });

  it("reads a socket's address only when a per-IP limit needs it, and counts it then", () => {
    let reads = 0;
    const peer = (address: string): { readonly remoteAddress: string } => ({
      get remoteAddress() {
        reads++;
        return address;
      },
    });
    const total = new ConnectionLimiter(Infinity, Infinity, 10);
    slotOf(total.acquire(peer('10.0.0.1'), 'ann'));
    expect(reads).toBe(0);
    expect(total.size).toBe(1);

    const perIp = new ConnectionLimiter(1, Infinity);
    const slot = slotOf(perIp.acquire(peer('10.0.0.1'), null));
    expect(reads).toBe(1);
    expect(perIp.acquire(peer('10.0.0.1'), null)).toEqual({ refused: 'at most 1 connections per IP address', code: ErrorCode.RateLimited });
    slotOf(perIp.acquire(peer('10.0.0.2'), null));
    slot.release();
    slotOf(perIp.acquire(peer('10.0.0.1'), null));
    // A socket without an address (already closed) counts as 'unknown'.
    slotOf(perIp.acquire({}, null));
    expect(perIp.acquire('unknown', null)).toMatchObject({ code: ErrorCode.RateLimited });
  });
});
