import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ErrorCode, type CursorEntry, type Position } from '@herald/protocol';
import type { Clock } from '../clock.js';
import { HeraldError } from '../errors.js';
import { timerMs } from '../timer-delay.js';
import type { UnverifiedPosition } from '../hub/compute-gap.js';
import { parseCookies } from './cookies.js';
import { Permissions } from './permissions.js';
import type { Authenticator } from './authenticator.js';
import { CursorSigner } from './cursor-signer.js';
import { ANONYMOUS, SERVER, type Identity } from './identity.js';
import type { TicketLimits } from './ticket-limits.js';
import { nextSessionId } from '../transport/session-id.js';
import { MemoryTicketStore, type TicketStore } from './ticket-store.js';
import type { ForwardedRequest, HookContext, ProxyHooks } from '../hooks/proxy-hooks.js';

/** Security options of a Herald server. Without any, the hub is open (the dev profile). */
export interface SecurityOptions {
  /** Verifies client tokens; without one, every client is anonymous. */
  readonly authenticator?: Authenticator;
  /** Channel permissions. @default anyone may do anything (`Permissions.open()`) */
  readonly permissions?: Permissions;
  /** API keys for backends (`X-Herald-Key` header). @default none */
  readonly apiKeys?: readonly string[];
  /** Origins allowed for browsers (WebSocket upgrades, CORS, cookie-authenticated requests); `'*'` = any. @default '*' */
  readonly allowedOrigins?: readonly string[] | '*';
  /** Cookie that may carry the token. @default 'herald_token' */
  readonly cookieName?: string;
  /** Sessions must authenticate (at connect, or with `auth` within `authTimeout`). @default false */
  readonly requireAuth?: boolean;
  /** Milliseconds a WebSocket may stay unauthenticated when `requireAuth`. @default 15000 */
  readonly authTimeout?: number;
  /** Seconds a ticket from `POST /api/ticket` stays valid (for the default store). @default 30 */
  readonly ticketTtl?: number;
  /** How many tickets the default store issues per holder and in all. @default see {@link TicketLimits} */
  readonly ticketLimits?: TicketLimits;
  /** Where tickets are kept (its own limits apply). @default in this process's memory (one node) */
  readonly tickets?: TicketStore;
  /**
   * Secrets (32+ characters, the same on every node) that sign the positions handed to clients that
   * may subscribe to a channel but not read its history; the first signs, all verify (rotation).
   * @default keys derived from `apiKeys`; without API keys, a random key of this process
   */
  readonly cursorSecrets?: readonly string[];
}

/** The header that carries an API key. */
export const API_KEY_HEADER = 'x-herald-key';

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** How a request authenticated, which matters for CSRF: only cookies are sent by a browser unasked. */
export type CredentialSource = 'none' | 'header' | 'cookie' | 'ticket' | 'api-key';

/**
 * Authentication, API keys and origins for the HTTP and WebSocket entry points. Tokens are read
 * from the `Authorization: Bearer` header, the cookie, or a single-use ticket (`?ticket=`); a token
 * in the query string is refused (URLs end up in logs and browser history).
 */
export class Security {
  readonly permissions: Permissions;
  readonly tickets: TicketStore;
  readonly requireAuth: boolean;
  readonly authTimeout: number;
  /** Signs and checks the positions of clients without `history` (see {@link Security.resumeFrom}). */
  readonly cursors: CursorSigner;
  /** The app's proxy hooks (`HeraldOptions.hooks`), when configured. */
  readonly hooks: ProxyHooks | undefined;
  readonly #authenticator: Authenticator | undefined;
  readonly #apiKeys: Buffer[];
  readonly #origins: ReadonlySet<string> | '*';
  readonly #cookie: string;

  constructor(options: SecurityOptions, clock: Clock, hooks?: ProxyHooks) {
    this.hooks = hooks;
    this.#authenticator = options.authenticator;
    this.permissions = options.permissions ?? Permissions.open();
    this.#apiKeys = (options.apiKeys ?? []).map(digest);
    this.#origins = options.allowedOrigins === undefined || options.allowedOrigins === '*' ? '*' : new Set(options.allowedOrigins);
    this.#cookie = options.cookieName ?? 'herald_token';
    this.requireAuth = options.requireAuth ?? false;
    this.authTimeout = timerMs('authTimeout', options.authTimeout, 15_000);
    this.tickets = options.tickets ?? new MemoryTicketStore(clock, options.ticketTtl, options.ticketLimits);
    this.cursors = CursorSigner.forHub(options.cursorSecrets, options.apiKeys);
    if (this.requireAuth && this.#authenticator === undefined && hooks?.connects !== true)
      throw new TypeError('requireAuth needs an authenticator or a connect hook');
  }

  /**
   * Whether positions handed to `identity` on `channel` are signed: it may not read the channel's
   * history, so it resumes only from positions the hub gave it.
   */
  signsFor(identity: Identity, channel: string): boolean {
    return !this.permissions.allows(identity, 'history', channel);
  }

  /**
   * The position a client may resume `channel` from, given what it sent (`undefined`: none, start
   * live). A client with `history` may start anywhere. One without it must present a position the
   * hub signed (a cursor it was given): a raw `{epoch, offset}` or an unsigned cursor is refused
   * with `forbidden` (2001), so a subscriber cannot read the backlog from before it subscribed. A
   * signature this hub cannot verify (forged, or made under a cursor key it no longer holds) gives
   * an {@link UnverifiedPosition}: the client starts at the end of the log after a `cursor` gap,
   * so a client whose key was rotated carries on, told so, and a forger reads nothing.
   */
  resumeFrom(identity: Identity, channel: string, since: CursorEntry | undefined): Position | undefined {
    if (since === undefined) return undefined;
    const position = { epoch: since.epoch, offset: since.offset };
    if (!this.signsFor(identity, channel)) return position;
    if (since.mac === undefined) {
      throw new HeraldError(
        ErrorCode.Forbidden,
        `resuming ${channel} from a position needs history permission: pass back a cursor the hub gave this client`,
      );
    }
    if (this.cursors.verify(channel, since)) return position;
    const unverified: UnverifiedPosition = { ...position, unverified: true };
    return unverified;
  }

  /** Whether a browser page from `origin` may use the hub (no `Origin` header: not a browser, allowed). */
  originAllowed(origin: string | undefined): boolean {
    return origin === undefined || this.#origins === '*' || this.#origins.has(origin);
  }

  /** Whether `origin` is in an explicit `allowedOrigins` list (never with `'*'`). */
  originListed(origin: string | undefined): boolean {
    return origin !== undefined && this.#origins !== '*' && this.#origins.has(origin);
  }

  /** CORS headers for a request from `origin`. */
  corsHeaders(origin: string | undefined): Record<string, string> {
    if (this.#origins === '*') return { 'Access-Control-Allow-Origin': '*' };
    if (origin === undefined || !this.#origins.has(origin)) return { Vary: 'Origin' };
    return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin' };
  }

  /** Whether the request carries a valid API key (compared in constant time). */
  hasApiKey(req: IncomingMessage): boolean {
    const presented = req.headers[API_KEY_HEADER];
    if (typeof presented !== 'string' || presented.length === 0 || this.#apiKeys.length === 0) return false;
    const candidate = digest(presented);
    let match = false;
    for (const key of this.#apiKeys) match = timingSafeEqual(candidate, key) || match;
    return match;
  }

  /** Whether any API key is configured. */
  get hasApiKeys(): boolean {
    return this.#apiKeys.length > 0;
  }

  /** Whether the hub verifies tokens (false in the dev profile). */
  get authenticates(): boolean {
    return this.#authenticator !== undefined;
  }

  /**
   * Whether the hub is open: no API key, no token verification, no proxy hook deciding for clients
   * (connect, subscribe, publish or rpc: {@link ProxyHooks.decides}), and permissions that let
   * anyone do anything on every channel ({@link Permissions.open}). Only then is the admin API open
   * to all.
   */
  get open(): boolean {
    return this.#apiKeys.length === 0 && this.#authenticator === undefined && this.hooks?.decides !== true && this.permissions.open;
  }

  /** What the connect hook would be sent of `req` (kept by a WebSocket session for a later `auth`); `undefined` without a connect hook. */
  forwarded(req: IncomingMessage): ForwardedRequest | undefined {
    return this.hooks?.connects === true ? this.hooks.forwarded(req) : undefined;
  }

  /**
   * Who a token sent in `auth` or `refresh` on a WebSocket makes the session. A token the
   * authenticator verifies wins; otherwise, for a `refresh` of a session `current`ly identified by
   * the app's hooks, the refresh hook decides (when configured), else the connect hook (sent the token and
   * what the upgrade `forwarded`). Without hooks: the authenticator's answer (anonymous without one).
   * @throws HeraldError 2000 when the token is bad or the app denies; HookFailure 3003
   */
  async verifyToken(
    token: string,
    context: HookContext,
    forwarded: ForwardedRequest | undefined,
    current: Identity,
    kind: 'auth' | 'refresh',
  ): Promise<Identity> {
    const hooks = this.hooks;
    const hooked = hooks !== undefined && hooks.connects && forwarded !== undefined;
    if (this.#authenticator !== undefined) {
      try {
        return await this.#authenticator.verify(token);
      } catch (error) {
        if (!hooked) throw error;
      }
    } else if (!hooked) return ANONYMOUS;
    if (kind === 'refresh' && current.hooked === true) {
      const refreshed = await hooks.refresh(current, context, token);
      if (refreshed !== undefined) return refreshed;
    }
    return (await hooks.connect(context, forwarded, token)) ?? ANONYMOUS;
  }

  /** Verifies a token (for `auth`/`refresh` on the WebSocket); anonymous on a hub without an authenticator. */
  async verify(token: string): Promise<Identity> {
    if (this.#authenticator === undefined) return ANONYMOUS;
    return this.#authenticator.verify(token);
  }

  /**
   * Who sent `req`: the API key's backend, a token's user, a ticket's identity, the app's connect
   * hook's answer (asked for `context`: how the client came and its session or request id; by
   * default a plain API request with a new request id), or
   * anonymous. With a connect hook, a request without an API key or ticket is identified by the
   * hook, sent the token unverified, unless the authenticator verifies that token first.
   * Rejects with 2000 for bad credentials (a bad token is never silently anonymous) and when the
   * app denies, and with 3003 when the connect hook cannot decide.
   */
  async identify(
    req: IncomingMessage,
    params: URLSearchParams,
    context?: HookContext,
  ): Promise<{ identity: Identity; source: CredentialSource }> {
    if (req.headers[API_KEY_HEADER] !== undefined) {
      // A wrong key is refused, not quietly treated as none: the backend learns at once.
      if (this.hasApiKey(req)) return { identity: SERVER, source: 'api-key' };
      throw new HeraldError(ErrorCode.Unauthorized, 'the API key is not valid');
    }
    if (params.has('token') || params.has('access_token')) {
      throw new HeraldError(
        ErrorCode.Unauthorized,
        'tokens in the URL are refused: send an Authorization header, or exchange the token for a ticket at POST /api/ticket',
      );
    }
    const ticket = params.get('ticket');
    if (ticket !== null) {
      let identity: Identity | undefined;
      try {
        identity = await this.tickets.redeem(ticket);
      } catch (error) {
        throw new HeraldError(ErrorCode.Unavailable, 'tickets are unavailable', { cause: error });
      }
      if (identity === undefined) throw new HeraldError(ErrorCode.Unauthorized, 'ticket is unknown, used or expired');
      return { identity, source: 'ticket' };
    }
    const authorization = req.headers.authorization;
    if (this.hooks?.connects === true) return this.#identifyByHook(req, authorization, context, this.hooks);
    // A hub without an authenticator (the dev profile) treats every client as anonymous.
    if (this.#authenticator === undefined) return { identity: ANONYMOUS, source: 'none' };
    if (authorization !== undefined) {
      const match = /^Bearer\s+(\S+)$/i.exec(authorization);
      if (match === null) throw new HeraldError(ErrorCode.Unauthorized, 'Authorization must be "Bearer <token>"');
      return { identity: await this.verify(match[1]!), source: 'header' };
    }
    const cookie = parseCookies(req.headers.cookie).get(this.#cookie);
    if (cookie !== undefined) {
      // Browsers attach cookies to requests from any page: with every origin allowed, that is CSRF.
      if (this.#origins === '*' && req.headers.origin !== undefined) {
        throw new HeraldError(ErrorCode.Forbidden, 'cookie authentication from a browser needs an explicit allowedOrigins list');
      }
      return { identity: await this.verify(cookie), source: 'cookie' };
    }
    return { identity: ANONYMOUS, source: 'none' };
  }

  /** {@link identify} on a hub with a connect hook: the token (header or cookie) verified first, else the hook decides. */
  async #identifyByHook(
    req: IncomingMessage,
    authorization: string | undefined,
    context: HookContext | undefined,
    hooks: ProxyHooks,
  ): Promise<{ identity: Identity; source: CredentialSource }> {
    let token: string | undefined;
    let source: CredentialSource = 'none';
    if (authorization !== undefined) {
      const match = /^Bearer\s+(\S+)$/i.exec(authorization);
      if (match === null) throw new HeraldError(ErrorCode.Unauthorized, 'Authorization must be "Bearer <token>"');
      token = match[1]!;
      source = 'header';
    } else {
      token = parseCookies(req.headers.cookie).get(this.#cookie);
      if (token !== undefined) source = 'cookie';
    }
    if (token !== undefined && this.#authenticator !== undefined) {
      try {
        const identity = await this.#authenticator.verify(token);
        if (source === 'cookie') this.#cookieFromAllowedOrigin(req);
        return { identity, source };
      } catch {
        // Not a token the hub can verify: the app's connect hook decides.
      }
    }
    const forwarded = hooks.forwarded(req);
    // Cookies the app may authenticate by are sent by a browser unasked: the cookie rules apply.
    if (source === 'none' && Object.keys(forwarded.cookies).length > 0) source = 'cookie';
    if (source === 'cookie') this.#cookieFromAllowedOrigin(req);
    const identity = await hooks.connect(context ?? { transport: 'http', client: nextSessionId() }, forwarded, token);
    return { identity: identity ?? ANONYMOUS, source };
  }

  /** Browsers attach cookies to requests from any page: with every origin allowed, that is CSRF. */
  #cookieFromAllowedOrigin(req: IncomingMessage): void {
    if (this.#origins === '*' && req.headers.origin !== undefined) {
      throw new HeraldError(ErrorCode.Forbidden, 'cookie authentication from a browser needs an explicit allowedOrigins list');
    }
  }
}
