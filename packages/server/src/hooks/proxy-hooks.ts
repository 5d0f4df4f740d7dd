import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { checkRpcMethod, ErrorCode, type HookName, type HookTransport } from '@herald/protocol';
import type { Clock } from '../clock.js';
import { HeraldError } from '../errors.js';
import { grantsFromClaims, type Identity } from '../auth/identity.js';
import { parseCookies } from '../auth/cookies.js';
import { namespaceOf } from '../auth/permissions.js';
import { HookCaller, HookFailure, type HookObserver } from './hook-caller.js';
import { resolveHooks, type HooksOptions, type ResolvedHooks } from './hooks-options.js';

/** Who a hook call is made for: how the client came, and its session or request id. */
export interface HookContext {
  readonly transport: HookTransport;
  readonly client: string;
}

/** What the connect hook is sent of the client's request (kept by a WebSocket session for a later `auth`). */
export interface ForwardedRequest {
  readonly headers: Readonly<Record<string, string>>;
  readonly cookies: Readonly<Record<string, string>>;
  readonly remoteAddress?: string | undefined;
}

/** Largest `info` (connection or channel info) a hook may answer, in bytes of JSON; larger is an invalid answer. */
export const MAX_HOOK_INFO_BYTES = 8192;

/** Longest denial reason passed on to a client. */
const MAX_REASON = 200;
/** Most cached allows (subscribe and connect together); the oldest go first. */
const MAX_CACHED = 100_000;

const digest = (text: string): string => createHash('sha256').update(text).digest('base64url');

function invalid(hook: HookName, what: string): HookFailure {
  return new HookFailure('invalid', `the ${hook} hook answered an invalid decision: ${what}`);
}

/** Throws an invalid-answer failure when `info` passes {@link MAX_HOOK_INFO_BYTES} of JSON. */
function checkInfo(hook: HookName, info: unknown): void {
  const json = JSON.stringify(info) as string | undefined;
  if (json !== undefined && Buffer.byteLength(json) > MAX_HOOK_INFO_BYTES)
    throw invalid(hook, `"info" is larger than ${MAX_HOOK_INFO_BYTES} bytes of JSON`);
}

function reasonOf(answer: Record<string, unknown>, fallback: string): string {
  const reason = answer['reason'];
  return typeof reason === 'string' && reason.length > 0 ? reason.slice(0, MAX_REASON) : fallback;
}

/** The `allow` of an answer: true, or throws the denial (`code`) or an invalid-answer failure. */
function allowed(hook: HookName, answer: Record<string, unknown>, code: 2000 | 2001, fallback: string): void {
  if (answer['allow'] === true) return;
  if (answer['allow'] === false) throw new HeraldError(code, reasonOf(answer, fallback));
  throw invalid(hook, '"allow" must be true or false');
}

/**
 * The app's proxy hooks (see `docs/hooks.md`): signed synchronous POSTs that decide connects,
 * subscribes and client publishes, refresh connections and answer rpc calls. Every method returns
 * `undefined` when its hook is not configured for that channel or method (the static rules
 * decide), throws a `HeraldError` with the denial (2000 for connect and refresh, 2001 otherwise)
 * and a {@link HookFailure} (3003) when the app could not decide: fail closed. Backends with the
 * API key and admins are never sent to a hook.
 */
export class ProxyHooks {
  readonly #config: ResolvedHooks;
  readonly #caller: HookCaller;
  readonly #clock: Clock;
  readonly #observer: HookObserver | undefined;
  readonly #cache = new Map<string, { until: number; value: unknown }>();

  constructor(options: HooksOptions, deps: { readonly clock: Clock; readonly observer?: HookObserver | undefined }) {
    this.#config = resolveHooks(options);
    this.#clock = deps.clock;
    this.#observer = deps.observer;
    this.#caller = new HookCaller({ ...this.#config, clock: deps.clock, observer: deps.observer });
  }

  /** The URL hook `hook` uses for channel or method `name` (connect and refresh: none needed), or false. */
  endpoint(hook: HookName, name?: string): string | false {
    if ((hook === 'subscribe' || hook === 'publish' || hook === 'rpc') && name !== undefined) {
      const rules = this.#config.namespaces.get(namespaceOf(name));
      const own = rules === undefined ? undefined : rules[hook];
      if (own !== undefined) return own;
    }
    return this.#config.endpoints[hook];
  }

  /** Whether the connect hook decides who clients are. */
  get connects(): boolean {
    return this.#config.endpoints.connect !== false;
  }

  /**
   * Whether any hook that decides for clients is configured: connect, or subscribe, publish or rpc
   * at the top level or in a namespace. Such a hub is never open (its admin API needs credentials).
   */
  get decides(): boolean {
    const { endpoints, namespaces } = this.#config;
    if (endpoints.connect !== false || endpoints.subscribe !== false || endpoints.publish !== false || endpoints.rpc !== false) return true;
    for (const rules of namespaces.values()) {
      if ((rules.subscribe ?? false) !== false || (rules.publish ?? false) !== false || (rules.rpc ?? false) !== false) return true;
    }
    return false;
  }

  /** What of `req` the connect hook is sent: the configured headers and cookies, and the address. */
  forwarded(req: IncomingMessage): ForwardedRequest {
    const headers: Record<string, string> = {};
    for (const name of this.#config.forwardHeaders) {
      const value = req.headers[name];
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const cookies: Record<string, string> = {};
    if (this.#config.forwardCookies.length > 0) {
      const all = parseCookies(req.headers.cookie);
      for (const name of this.#config.forwardCookies) {
        const value = all.get(name);
        if (value !== undefined) cookies[name] = value;
      }
    }
    return { headers, cookies, remoteAddress: req.socket.remoteAddress };
  }

  /**
   * Asks the connect hook who the client is. `undefined` when no connect hook is configured.
   * @throws HeraldError 2000 when the app denies, 2002 when the expiry it gives has passed; HookFailure 3003
   */
  async connect(context: HookContext, forwarded: ForwardedRequest, token: string | undefined): Promise<Identity | undefined> {
    const url = this.#config.endpoints.connect;
    if (url === false) return undefined;
    const key = this.#config.cacheTtl > 0 ? `c\n${digest(JSON.stringify([context.transport, token ?? null, forwarded]))}` : undefined;
    const cached = key === undefined ? undefined : this.#cached<Identity>(key, 'connect');
    if (cached !== undefined) return cached;
    const identity = await this.#call(
      'connect',
      url,
      {
        hook: 'connect',
        transport: context.transport,
        client: context.client,
        ...(token !== undefined && { token }),
        headers: forwarded.headers,
        cookies: forwarded.cookies,
        ...(forwarded.remoteAddress !== undefined && { remoteAddress: forwarded.remoteAddress }),
      },
      (answer) => {
        allowed('connect', answer, ErrorCode.Unauthorized, 'the app refused the connection');
        return this.#identity('connect', answer, undefined);
      },
    );
    if (key !== undefined) this.#remember(key, identity, this.#config.cacheTtl, identity.expiresAt);
    return identity;
  }

  /**
   * Asks the refresh hook to extend `identity` (at its expiry, or with a new `token` from the
   * client). `undefined` when no refresh hook is configured.
   * @throws HeraldError 2000 when the app denies; HookFailure 3003
   */
  async refresh(identity: Identity, context: HookContext, token?: string): Promise<Identity | undefined> {
    const url = this.#config.endpoints.refresh;
    if (url === false) return undefined;
    return this.#call('refresh', url, { ...this.#base('refresh', identity, context), ...(token !== undefined && { token }) }, (answer) => {
      allowed('refresh', answer, ErrorCode.Unauthorized, 'the app refused to extend the connection');
      return this.#identity('refresh', answer, identity);
    });
  }

  /**
   * Asks the subscribe hook whether `identity` may subscribe to `channel`. `undefined` when no hook
   * decides that channel (or the identity is a backend or an admin); otherwise the channel info.
   * @throws HeraldError 2001 when the app denies; HookFailure 3003
   */
  async subscribe(identity: Identity, context: HookContext, channel: string): Promise<{ info?: unknown } | undefined> {
    if (identity.server === true || identity.admin === true) return undefined;
    const url = this.endpoint('subscribe', channel);
    if (url === false) return undefined;
    const ttl = this.#config.namespaces.get(namespaceOf(channel))?.cacheTtl ?? this.#config.cacheTtl;
    // What the request tells the app besides the user and channel (transport, connection info) is in
    // the key too: an app may decide on it.
    const key =
      ttl > 0 && identity.user !== null
        ? `s\n${digest(JSON.stringify([identity.user, channel, context.transport, identity.info ?? null]))}`
        : undefined;
    const cached = key === undefined ? undefined : this.#cached<{ info?: unknown }>(key, 'subscribe');
    if (cached !== undefined) return cached;
    const decision = await this.#call('subscribe', url, { ...this.#base('subscribe', identity, context), channel }, (answer) => {
      allowed('subscribe', answer, ErrorCode.Forbidden, `subscribe on ${channel} is not allowed`);
      if (!('info' in answer) || answer['info'] === undefined) return {};
      checkInfo('subscribe', answer['info']);
      return { info: answer['info'] };
    });
    if (key !== undefined) this.#remember(key, decision, ttl, identity.expiresAt);
    return decision;
  }

  /**
   * Asks the publish hook whether `identity` may publish `data` to `channel`. `undefined` when no
   * hook decides that channel (or the identity is a backend or an admin); otherwise the data to
   * store: the app's replacement, or `data` unchanged.
   * @throws HeraldError 2001 when the app denies; HookFailure 3003
   */
  async publish(
    identity: Identity,
    context: HookContext,
    channel: string,
    data: unknown,
  ): Promise<{ data: unknown; replaced: boolean } | undefined> {
    if (identity.server === true || identity.admin === true) return undefined;
    const url = this.endpoint('publish', channel);
    if (url === false) return undefined;
    return this.#call('publish', url, { ...this.#base('publish', identity, context), channel, data }, (answer) => {
      allowed('publish', answer, ErrorCode.Forbidden, `publish on ${channel} is not allowed`);
      if ('data' in answer && answer['data'] !== undefined) return { data: answer['data'], replaced: true };
      return { data, replaced: false };
    });
  }

  /**
   * Calls `method` through the rpc hook for `identity`; resolves with the app's `data`.
   * @throws HeraldError 1005 for a bad method name, 1010 when no rpc hook serves the method, 2001 when the app denies; HookFailure 3003
   */
  async rpc(identity: Identity, context: HookContext, method: string, data: unknown): Promise<unknown> {
    const checked = checkRpcMethod(method);
    if (!checked.ok) throw HeraldError.fromWire(checked.error);
    const url = this.endpoint('rpc', method);
    if (url === false) throw new HeraldError(ErrorCode.NotFound, `no rpc hook serves method ${method}`);
    return this.#call('rpc', url, { ...this.#base('rpc', identity, context), method, data }, (answer) => {
      allowed('rpc', answer, ErrorCode.Forbidden, `rpc ${method} is not allowed`);
      return answer['data'] ?? null;
    });
  }

  #base(hook: HookName, identity: Identity, context: HookContext): Record<string, unknown> {
    return {
      hook,
      transport: context.transport,
      client: context.client,
      user: identity.user,
      ...(identity.server === true && { backend: true }),
      ...(identity.info !== undefined && { info: identity.info }),
    };
  }

  /**
   * Calls the hook and turns its answer into `decide`'s result, reporting the outcome once the
   * answer is checked: `allow` when `decide` accepts it, `deny` when it throws the app's denial,
   * `invalid` when it rejects the answer (an allow with a bad user, grants, expiry or info too).
   */
  async #call<T>(hook: HookName, url: string, fields: Record<string, unknown>, decide: (answer: Record<string, unknown>) => T): Promise<T> {
    const started = this.#clock.now();
    const answer = await this.#caller.call(hook, url, { id: randomUUID(), time: started, ...fields });
    try {
      const result = decide(answer);
      this.#observer?.called(hook, 'allow', this.#clock.now() - started);
      return result;
    } catch (error) {
      const denied = answer['allow'] === false && !(error instanceof HookFailure);
      this.#observer?.called(hook, denied ? 'deny' : 'invalid', this.#clock.now() - started);
      throw error;
    }
  }

  /** The identity a connect or refresh answer makes (a refresh keeps what it does not replace). */
  #identity(hook: 'connect' | 'refresh', answer: Record<string, unknown>, previous: Identity | undefined): Identity {
    const user = hook === 'refresh' ? (previous?.user ?? null) : answer['user'];
    if (user !== undefined && user !== null && (typeof user !== 'string' || user.length === 0 || user.length > 256))
      throw invalid(hook, '"user" must be a string of 1-256 characters or null');
    const grants = answer['grants'];
    if (grants !== undefined && (typeof grants !== 'object' || grants === null || Array.isArray(grants)))
      throw invalid(hook, '"grants" must be an object of channel lists');
    const expires = answer['expiresAt'];
    if (expires !== undefined && expires !== null && (typeof expires !== 'number' || !Number.isFinite(expires)))
      throw invalid(hook, '"expiresAt" must be seconds since the Unix epoch');
    const expiresAt = typeof expires === 'number' ? Math.floor(expires * 1000) : undefined;
    if (expiresAt !== undefined && expiresAt <= this.#clock.now())
      throw new HeraldError(ErrorCode.TokenExpired, `the ${hook} hook answered an expiry in the past`);
    if ('info' in answer) checkInfo(hook, answer['info']);
    const info = 'info' in answer ? answer['info'] : previous?.info;
    return {
      user: user ?? null,
      authenticated: true,
      expiresAt,
      grants: grants !== undefined ? grantsFromClaims({ herald: grants }) : (previous?.grants ?? grantsFromClaims({})),
      ...(info !== undefined && { info }),
      hooked: true,
    };
  }

  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names what it stored under the key
  #cached<T>(key: string, hook: HookName): T | undefined {
    const entry = this.#cache.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= this.#clock.now()) {
      this.#cache.delete(key);
      return undefined;
    }
    this.#observer?.called(hook, 'cached', 0);
    return entry.value as T;
  }

  #remember(key: string, value: unknown, ttlSeconds: number, expiresAt: number | undefined): void {
    const until = Math.min(this.#clock.now() + ttlSeconds * 1000, expiresAt ?? Number.POSITIVE_INFINITY);
    if (this.#cache.size >= MAX_CACHED) {
      const oldest = this.#cache.keys().next();
      if (oldest.done !== true) this.#cache.delete(oldest.value);
    }
    this.#cache.set(key, { until, value });
  }
}
