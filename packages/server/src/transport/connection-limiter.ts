import { ErrorCode } from '@herald/protocol';

/** What {@link ConnectionLimiter.acquire} returns when there are no limits: nothing to release. */
export const UNLIMITED = { release: (): void => undefined };

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

  constructor(perIp: number, perUser: number, total = Infinity) {
    this.#perIp = perIp;
    this.#perUser = perUser;
    this.#total = total;
  }

  /** Connections counted now. */
  get size(): number {
    return this.#count;
  }

  /** Counts a connection, or returns why it is refused. Call the returned release once it closes. */
  acquire(ip: string, user: string | null): { release: () => void } | Refusal {
    // Without limits nothing is counted, and nothing is allocated per connection.
    if (this.#perIp === Infinity && this.#perUser === Infinity && this.#total === Infinity) return UNLIMITED;
    const ipCount = this.#ips.get(ip) ?? 0;
    if (ipCount >= this.#perIp) return { refused: `at most ${this.#perIp} connections per IP address`, code: ErrorCode.RateLimited };
    const userCount = user === null ? 0 : (this.#users.get(user) ?? 0);
    if (user !== null && userCount >= this.#perUser)
      return { refused: `at most ${this.#perUser} connections per user`, code: ErrorCode.RateLimited };
    if (this.#count >= this.#total)
      return { refused: `the hub holds its maximum of ${this.#total} connections`, code: ErrorCode.Unavailable };
    this.#count++;
    if (this.#perIp !== Infinity) this.#ips.set(ip, ipCount + 1);
    if (user !== null && this.#perUser !== Infinity) this.#users.set(user, userCount + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#count--;
        if (this.#perIp !== Infinity) this.#decrement(this.#ips, ip);
        if (user !== null && this.#perUser !== Infinity) this.#decrement(this.#users, user);
      },
    };
  }

  /**
   * Counts one more connection of `user` for a connection already counted by IP (a WebSocket that
   * authenticated after connecting), or returns why it is refused.
   */
  acquireUser(user: string): { release: () => void } | { refused: string } {
    if (this.#perUser === Infinity) return UNLIMITED;
    const count = this.#users.get(user) ?? 0;
    if (count >= this.#perUser) return { refused: `at most ${this.#perUser} connections per user` };
    this.#users.set(user, count + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#decrement(this.#users, user);
      },
    };
  }

  #decrement(map: Map<string, number>, key: string): void {
    const left = (map.get(key) ?? 1) - 1;
    if (left <= 0) map.delete(key);
    else map.set(key, left);
  }
}
