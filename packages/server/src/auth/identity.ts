/** The operations a client may be allowed on a channel. */
export type Operation = 'subscribe' | 'publish' | 'history' | 'presence';

/** Channel patterns a token grants, per operation: exact names, or a prefix ending in `*`. */
export type Grants = { readonly [op in Operation]: readonly string[] };

/** Who a session or request is. */
export interface Identity {
  /** The user id (the token's `sub`), or `null` when anonymous or the token names no user. */
  readonly user: string | null;
  /** Whether valid credentials were presented. */
  readonly authenticated: boolean;
  /** When the credentials expire, in milliseconds since the Unix epoch; `undefined` = never. */
  readonly expiresAt: number | undefined;
  /** Channels granted by the token's claims. */
  readonly grants: Grants;
  /** A backend holding the API key: every operation on every channel. */
  readonly server?: boolean;
  /**
   * An operator: the token carries `"herald": {"admin": true}`. Every operation on every channel,
   * and the admin API (`/api/admin/…`) when the token comes in a header.
   */
  readonly admin?: boolean;
  /** Connection info the app's connect or refresh hook answered (any JSON); passed back in later hook calls. */
  readonly info?: unknown;
  /** The identity came from the app's connect or refresh hook (not from a token the hub verified). */
  readonly hooked?: boolean;
}

const NONE: Grants = { subscribe: [], publish: [], history: [], presence: [] };

/** The identity of a client that presented no credentials. */
export const ANONYMOUS: Identity = { user: null, authenticated: false, expiresAt: undefined, grants: NONE };

/** The identity of a backend authenticated with the API key. */
export const SERVER: Identity = { user: null, authenticated: true, expiresAt: undefined, grants: NONE, server: true };

/** Whether `channel` matches one of `patterns` (exact, or a prefix ending in `*`). */
export function matchesAny(patterns: readonly string[], channel: string): boolean {
  for (const pattern of patterns) {
    if (pattern.endsWith('*') ? channel.startsWith(pattern.slice(0, -1)) : pattern === channel) return true;
  }
  return false;
}

/**
 * Reads grants from token claims: `herald: {subscribe?, publish?, history?, presence?}` lists per
 * operation, and/or `channels: [...]` for all four. Anything malformed grants nothing.
 */
export function grantsFromClaims(claims: Record<string, unknown>): Grants {
  const list = (value: unknown): string[] =>
    Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && v.length > 0 && v.length <= 256) : [];
  const all = list(claims['channels']);
  const herald = typeof claims['herald'] === 'object' && claims['herald'] !== null ? (claims['herald'] as Record<string, unknown>) : {};
  return {
    subscribe: [...all, ...list(herald['subscribe'])],
    publish: [...all, ...list(herald['publish'])],
    history: [...all, ...list(herald['history'])],
    presence: [...all, ...list(herald['presence'])],
  };
}

/** Whether token claims make an operator (`"herald": {"admin": true}`; see {@link Identity.admin}). */
export function adminFromClaims(claims: Record<string, unknown>): boolean {
  const herald = claims['herald'];
  return typeof herald === 'object' && herald !== null && (herald as Record<string, unknown>)['admin'] === true;
}

/** Who a publish's idempotency key belongs to: the API key's backends, a user, or anonymous clients. */
export function idempotencyScope(identity: Identity): string {
  if (identity.server === true) return 'api-key';
  return identity.user === null ? 'anonymous' : `user:${identity.user}`;
}
