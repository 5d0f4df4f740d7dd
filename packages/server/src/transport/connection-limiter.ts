import { ErrorCode } from '@herald/protocol';
import { addressKey } from '../http/address-key.js';

/** A counted connection: call `release` once it closes (idempotent). */
export interface ConnectionSlot {
  release(): void;
}

/** What {@link ConnectionLimiter.acquire} returns when there are no limits: nothing to release. */
export const UNLIMITED: ConnectionSlot = { release: (): void => undefined };

/**
 * Where a connection comes from: its IP address, or the socket to read it from. A socket's address
 * is read only when a per-IP limit needs it: reading `remoteAddress` makes Node keep the peer's
 * address (an object and a string) on the socket for the connection's life.
 */
export type Peer = string | { readonly remoteAddress?: string | undefined };

/** The address counted: an IPv6 client by its /64, an IPv4-mapped one as IPv4 (as the request limits do). */
const ipOf = (peer: Peer): string => addressKey(typeof peer === 'string' ? peer : peer.remoteAddress);

/** Lets a slot give its count back to the limiter's private maps. */
let free: (limiter: ConnectionLimiter, ip: string | undefined, user: string | null) => void;

/**
 * One counted connection. A small object with a method, not a closure: every WebSocket, stream and
 * held poll holds one while the hub has a connection limit (it has one by default), and a closure
 * with its context costs about twice the memory per connection.
 */
class CountedSlot implements ConnectionSlot {
  /** `undefined` once released. */
  #limiter: ConnectionLimiter | undefined;
  /** The IP counted, or `undefined` for a slot counted only for its user (see `acquireUser`). */
  readonly #ip: string | undefined;
  readonly #user: string | null;

  constructor(limiter: ConnectionLimiter, ip: string | undefined, user: string | null) {
    this.#limiter = limiter;
    this.#ip = ip;
    this.#user = user;
  }

  release(): void {
    const limiter = this.#limiter;
    if (limiter === undefined) return;
    this.#limiter = undefined;
    free(limiter, this.#ip, this.#user);
  }
}

/** A connection counted only in the total (no per-IP or per-user limit): the default, so the smallest slot. */
class TotalSlot implements ConnectionSlot {
  /** `undefined` once released. */
  #limiter: ConnectionLimiter | undefined;

  constructor(limiter: ConnectionLimiter) {
    this.#limiter = limiter;
  }

  release(): void {
    const limiter = this.#limiter;
    if (limiter === undefined) return;
    this.#limiter = undefined;
    free(limiter, '', null);
  }
}

/** Why {@link ConnectionLimiter.acquire} refused a connection: 3002 for a client's own limit, 3001 when the hub is full. */
export interface Refusal {
  readonly refused: string;
  readonly code: typeof ErrorCode.RateLimited | typeof ErrorCode.Unavailable;
}

/**
 * Counts long-lived connections (WebSocket sessions, SSE streams, held long polls) per client IP,
 * per user and in total, and refuses one more past the limits.
 */
export class ConnectionLimiter {
  readonly #perIp: number;
  readonly #perUser: number;
  readonly #total: number;
  readonly #ips = new Map<string, number>();
  readonly #users = new Map<string, number>();
  #count = 0;

  static {
    free = (limiter, ip, user) => limiter.#free(ip, user);
  }

  constructor(perIp: number, perUser: number, total = Infinity) {
    this.#perIp = perIp;
    this.#perUser = perUser;
    this.#total = total;
  }

  /** Connections counted now. */
  get size(): number {
    return this.#count;
  }

  /**
   * Counts a connection from `peer` (its IP address, or its socket: see {@link Peer}), or returns why
   * it is refused. Call the returned release once it closes.
   */
  acquire(peer: Peer, user: string | null): ConnectionSlot | Refusal {
    // Without limits nothing is counted, and nothing is allocated per connection.
    if (this.#perIp === Infinity && this.#perUser === Infinity && this.#total === Infinity) return UNLIMITED;
    const ip = this.#perIp === Infinity ? '' : ipOf(peer);
    const ipCount = this.#perIp === Infinity ? 0 : (this.#ips.get(ip) ?? 0);
    if (ipCount >= this.#perIp) return { refused: `at most ${this.#perIp} connections per IP address`, code: ErrorCode.RateLimited };
    const userCount = user === null ? 0 : (this.#users.get(user) ?? 0);
    if (user !== null && userCount >= this.#perUser)
      return { refused: `at most ${this.#perUser} connections per user`, code: ErrorCode.RateLimited };
    if (this.#count >= this.#total)
      return { refused: `the hub holds its maximum of ${this.#total} connections`, code: ErrorCode.Unavailable };
    this.#count++;
    if (this.#perIp !== Infinity) this.#ips.set(ip, ipCount + 1);
    if (user !== null && this.#perUser !== Infinity) this.#users.set(user, userCount + 1);
    if (this.#perIp === Infinity && (user === null || this.#perUser === Infinity)) return new TotalSlot(this);
    return new CountedSlot(this, ip, user);
  }

  /**
   * Counts one more connection of `user` for a connection already counted by IP (a WebSocket that
   * authenticated after connecting), or returns why it is refused.
   */
  acquireUser(user: string): ConnectionSlot | { refused: string } {
    if (this.#perUser === Infinity) return UNLIMITED;
    const count = this.#users.get(user) ?? 0;
    if (count >= this.#perUser) return { refused: `at most ${this.#perUser} connections per user` };
    this.#users.set(user, count + 1);
    return new CountedSlot(this, undefined, user);
  }

  /** Gives back what a slot counted: the connection and its IP when `ip` is set, and its user. */
  #free(ip: string | undefined, user: string | null): void {
    if (ip !== undefined) {
      this.#count--;
      if (this.#perIp !== Infinity) this.#decrement(this.#ips, ip);
    }
    if (user !== null && this.#perUser !== Infinity) this.#decrement(this.#users, user);
  }

  #decrement(map: Map<string, number>, key: string): void {
    const left = (map.get(key) ?? 1) - 1;
    if (left <= 0) map.delete(key);
    else map.set(key, left);
  }
}
