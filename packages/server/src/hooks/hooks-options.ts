import { timerMs, timerSeconds } from '../timer-delay.js';

/** Where each proxy hook is sent: an `http(s)` URL, or `false` to turn the hook off (in a namespace). */
export interface HookEndpoints {
  /** Decides who connects (every transport); a connection-level hook: only at the top level. */
  readonly connect?: string | false | undefined;
  /** Decides each subscribe (WebSocket `subscribe`, an SSE stream's or a poll's channels). */
  readonly subscribe?: string | false | undefined;
  /** Decides each client publish (never a backend's with the API key), and may replace its data. */
  readonly publish?: string | false | undefined;
  /** Extends a connection whose `expiresAt` is reached, or takes a new token (`refresh`); connection-level. */
  readonly refresh?: string | false | undefined;
  /** Answers `rpc` calls (the method's namespace picks the URL, as a channel's does). */
  readonly rpc?: string | false | undefined;
}

/** A namespace's hooks (subscribe, publish, rpc) and cache; unset ones take the top level's. */
export interface NamespaceHooks {
  readonly subscribe?: string | false | undefined;
  readonly publish?: string | false | undefined;
  readonly rpc?: string | false | undefined;
  /** Seconds a subscribe allow is cached per user, channel, transport and connection info. */
  readonly cacheTtl?: number | undefined;
}

/** Proxy hooks: the app decides connects, subscribes, publishes, refreshes and answers rpc calls. */
export interface HooksOptions extends HookEndpoints {
  /** Secrets (16+ characters) signing every call; the first is current, all are sent (rotation). */
  readonly secrets: readonly string[];
  /** Milliseconds a call may take, waiting for a slot included; past it the hub fails closed (3003). @default 5000 */
  readonly timeout?: number | undefined;
  /** Calls in flight at once per hook and app origin. @default 64 */
  readonly concurrency?: number | undefined;
  /** Calls waiting for a slot per hook and app origin; past it a call fails at once (3003). @default 1000 */
  readonly maxQueued?: number | undefined;
  /** Request headers sent in the connect hook's `headers` (case-insensitive names). @default none */
  readonly forwardHeaders?: readonly string[] | undefined;
  /** Cookies sent in the connect hook's `cookies`. @default none */
  readonly forwardCookies?: readonly string[] | undefined;
  /**
   * Seconds an allow is remembered: a subscribe per user, channel, transport and connection info, a connect per credentials
   * (and transport), never beyond the connection's `expiresAt`. 0: every decision asks the app. @default 0
   */
  readonly cacheTtl?: number | undefined;
  /** Per-namespace endpoints and cache (the part of the channel or method name before the first `:`). */
  readonly namespaces?: Readonly<Record<string, NamespaceHooks>> | undefined;
}

/** {@link HooksOptions} checked, with defaults. */
export interface ResolvedHooks {
  readonly secrets: readonly string[];
  readonly timeout: number;
  readonly concurrency: number;
  readonly maxQueued: number;
  readonly forwardHeaders: readonly string[];
  readonly forwardCookies: readonly string[];
  readonly cacheTtl: number;
  readonly endpoints: { readonly [K in keyof HookEndpoints]-?: string | false };
  readonly namespaces: ReadonlyMap<string, NamespaceHooks>;
}

function checkUrl(name: string, value: string | false | undefined): string | false {
  if (value === undefined || value === false) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`${name} must be an http(s) URL or false`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`${name} must be an http(s) URL or false`);
  return value;
}

function checkCount(name: string, value: number | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) throw new RangeError(`${name} must be an integer from 1 to ${max}`);
  return value;
}

function checkNames(name: string, value: readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  const list: unknown = value;
  if (!Array.isArray(list)) throw new TypeError(`${name} must be a list of header or cookie names`);
  const names: string[] = [];
  for (const v of list as unknown[]) {
    if (typeof v !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/.test(v))
      throw new TypeError(`${name} must be a list of header or cookie names`);
    names.push(v);
  }
  return names;
}

/** Checks hook options (`TypeError`/`RangeError` naming the option) and fills in defaults. */
export function resolveHooks(options: HooksOptions): ResolvedHooks {
  const given: unknown = options.secrets;
  const secrets = Array.isArray(given) ? (given as unknown[]).filter((s): s is string => typeof s === 'string' && s.length >= 16) : [];
  if (!Array.isArray(given) || secrets.length === 0 || secrets.length !== given.length)
    throw new TypeError('hooks.secrets must list at least one secret of 16 or more characters');
  const namespaces = new Map<string, NamespaceHooks>();
  for (const [ns, rules] of Object.entries(options.namespaces ?? {})) {
    namespaces.set(ns, {
      subscribe: rules.subscribe === undefined ? undefined : checkUrl(`hooks.namespaces.${ns}.subscribe`, rules.subscribe),
      publish: rules.publish === undefined ? undefined : checkUrl(`hooks.namespaces.${ns}.publish`, rules.publish),
      rpc: rules.rpc === undefined ? undefined : checkUrl(`hooks.namespaces.${ns}.rpc`, rules.rpc),
      cacheTtl: rules.cacheTtl === undefined ? undefined : timerSeconds(`hooks.namespaces.${ns}.cacheTtl`, rules.cacheTtl, 0, 0),
    });
  }
  return {
    secrets,
    timeout: timerMs('hooks.timeout', options.timeout, 5000, 1, 60_000),
    concurrency: checkCount('hooks.concurrency', options.concurrency, 64, 10_000),
    maxQueued: checkCount('hooks.maxQueued', options.maxQueued, 1000, 1_000_000),
    forwardHeaders: checkNames('hooks.forwardHeaders', options.forwardHeaders).map((h) => h.toLowerCase()),
    forwardCookies: checkNames('hooks.forwardCookies', options.forwardCookies),
    cacheTtl: timerSeconds('hooks.cacheTtl', options.cacheTtl, 0, 0),
    endpoints: {
      connect: checkUrl('hooks.connect', options.connect),
      subscribe: checkUrl('hooks.subscribe', options.subscribe),
      publish: checkUrl('hooks.publish', options.publish),
      refresh: checkUrl('hooks.refresh', options.refresh),
      rpc: checkUrl('hooks.rpc', options.rpc),
    },
    namespaces,
  };
}
