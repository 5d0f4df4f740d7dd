import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '@herald/protocol';
import type { Identity } from '../auth/identity.js';
import type { Security } from '../auth/security.js';
import type { Logger } from '../logger.js';
import { addressKey } from './address-key.js';
import type { MemoryRateLimitStore, RateLimitStore } from './rate-limit-store.js';
import { requestRefusal, type RequestKind, type ResolvedRequestLimits } from './request-limits.js';
import { sendError } from './respond.js';

/** Whole seconds (≥ 1) for a `Retry-After` of `ms`. */
const seconds = (ms: number): string => String(Math.max(1, Math.ceil(ms / 1000)));

/** Whether a request announced a body (which a refusal does not read). */
const hasBody = (req: IncomingMessage): boolean =>
  req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

/**
 * The HTTP request rate limits of a hub (see {@link ResolvedRequestLimits}): a route asks
 * {@link RequestLimiter.admitAddress} before it reads the credentials and
 * {@link RequestLimiter.admitUser} once it knows the user. A refusal is answered `429`, code 3002,
 * with `Retry-After` in whole seconds until the bucket has a request again.
 */
export class RequestLimiter {
  readonly #limits: ResolvedRequestLimits;
  readonly #addresses: MemoryRateLimitStore;
  readonly #users: RateLimitStore;
  readonly #security: Security;
  readonly #logger: Logger;

  /** `addresses` holds this node's per-address buckets, `users` the per-user ones (shared on Redis). */
  constructor(limits: ResolvedRequestLimits, addresses: MemoryRateLimitStore, users: RateLimitStore, security: Security, logger: Logger) {
    this.#limits = limits;
    this.#addresses = addresses;
    this.#users = users;
    this.#security = security;
    this.#logger = logger;
  }

  /**
   * Counts the request against its client IP address (an IPv6 client's /64, see
   * {@link addressKey}); false when refused (the `429` is sent). A request with a valid API key is
   * not counted (a wrong key is refused later, as always).
   */
  admitAddress(req: IncomingMessage, res: ServerResponse, kind: RequestKind, cors: Record<string, string>): boolean {
    const limit = this.#limits[kind].perIp;
    if (limit === null || this.#security.hasApiKey(req)) return true;
    const wait = this.#addresses.takeNow(`${kind}:${addressKey(req.socket.remoteAddress)}`, limit);
    if (wait === 0) return true;
    this.#refuse(req, res, requestRefusal(kind, 'ip', limit), wait, cors);
    return false;
  }

  /**
   * Counts the request against its user (none for anonymous clients, tokens without `sub` and the
   * API key); resolves false when refused (the `429` is sent, or a `503` when the store cannot be
   * reached).
   */
  async admitUser(
    req: IncomingMessage,
    res: ServerResponse,
    identity: Identity,
    kind: RequestKind,
    cors: Record<string, string>,
  ): Promise<boolean> {
    const limit = this.#limits[kind].perUser;
    if (limit === null || identity.user === null || identity.server === true) return true;
    let wait: number;
    try {
      wait = await this.#users.take(`${kind}:${identity.user}`, limit);
    } catch (error) {
      this.#logger.warn({ err: error }, 'request rate limits unavailable');
      sendError(res, { code: ErrorCode.Unavailable, message: 'rate limits are unavailable' }, cors);
      return false;
    }
    if (wait === 0) return true;
    this.#refuse(req, res, requestRefusal(kind, 'user', limit), wait, cors);
    return false;
  }

  /**
   * Counts the rest of a batch of `messages` publishes, whose request already counted as one (in
   * {@link admitAddress} and {@link admitUser}): `messages - 1` more from the address's bucket and
   * the user's, so a batch costs what its messages would cost one by one. Resolves false when
   * refused: `429` (3002) while a bucket has fewer, or `400` (1009) when the batch is larger than a
   * bucket's burst (it could never pass: send smaller batches). A refused batch still counted as
   * one request, and when the user's bucket refuses, the address's has been charged.
   */
  async admitBatch(
    req: IncomingMessage,
    res: ServerResponse,
    identity: Identity,
    messages: number,
    cors: Record<string, string>,
  ): Promise<boolean> {
    const extra = messages - 1;
    if (extra < 1 || this.#security.hasApiKey(req)) return true;
    const { perIp, perUser } = this.#limits.publish;
    const byUser = perUser !== null && identity.user !== null && identity.server !== true ? perUser : null;
    for (const [limit, scope] of [
      [perIp, 'IP address'],
      [byUser, 'user'],
    ] as const) {
      if (limit !== null && messages > limit.burst) {
        sendError(
          res,
          {
            code: ErrorCode.LimitExceeded,
            message: `a batch of ${messages} messages is more than the publish limit's burst of ${limit.burst} per ${scope}: send at most ${limit.burst} in one request`,
          },
          cors,
        );
        return false;
      }
    }
    // The address first: it costs no round trip to a shared store.
    if (perIp !== null) {
      const wait = this.#addresses.takeNow(`publish:${addressKey(req.socket.remoteAddress)}`, perIp, extra);
      if (wait > 0) {
        this.#refuse(req, res, requestRefusal('publish', 'ip', perIp, true), wait, cors);
        return false;
      }
    }
    if (byUser !== null) {
      let wait: number;
      try {
        wait = await this.#users.take(`publish:${identity.user}`, byUser, extra);
      } catch (error) {
        this.#logger.warn({ err: error }, 'request rate limits unavailable');
        sendError(res, { code: ErrorCode.Unavailable, message: 'rate limits are unavailable' }, cors);
        return false;
      }
      if (wait > 0) {
        this.#refuse(req, res, requestRefusal('publish', 'user', byUser, true), wait, cors);
        return false;
      }
    }
    return true;
  }

  #refuse(req: IncomingMessage, res: ServerResponse, message: string, wait: number, cors: Record<string, string>): void {
    // The body is not read: closing is cheaper than draining it.
    const close = hasBody(req) && !req.readableEnded ? { Connection: 'close' } : undefined;
    sendError(res, { code: ErrorCode.RateLimited, message }, { ...cors, ...close, 'Retry-After': seconds(wait) });
  }
}
