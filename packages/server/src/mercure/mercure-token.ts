import type { IncomingMessage } from 'node:http';
import { jwtVerify } from 'jose';
import { parseCookies } from '../auth/cookies.js';
import type { MercureKey } from './mercure-config.js';
import { MAX_SELECTOR_LENGTH, TopicSelector } from './topic-selector.js';

/** The cookie a browser's EventSource carries the subscriber's JWT in. */
export const MERCURE_COOKIE = 'mercureAuthorization';

/** The cookie name later Mercure drafts recommend, read when {@link MERCURE_COOKIE} is absent. */
export const MERCURE_SECURE_COOKIE = '__Secure-mercure_access_token';

/** What a verified JWT's `mercure` claim grants. */
export interface MercureClaims {
  /** `mercure.publish`: the topics the holder may publish to. */
  readonly publish: readonly TopicSelector[];
  /** `mercure.subscribe`: the topics whose private updates (and non-public Herald/Pusher messages) the holder may receive. */
  readonly subscribe: readonly TopicSelector[];
  /** `mercure.payload`, shown in subscription events. */
  readonly payload: unknown;
  /** The token's `sub`, when it is a string: the subscriber's user (admin disconnects, per-user connection limits). */
  readonly user: string | null;
  /** The token's `exp`, in milliseconds since the Unix epoch. */
  readonly expiresAt: number | undefined;
}

/**
 * The token a request presents: the `Authorization: Bearer` header wins, then the `authorization`
 * query parameter of `params` (subscribers and publishers both pass theirs; `undefined` skips it),
 * then the `mercureAuthorization` cookie (or `__Secure-mercure_access_token`). `undefined`: none; `null`: an `Authorization` header that is not `Bearer <token>`.
 */
export function presentedToken(req: IncomingMessage, params: URLSearchParams | undefined): string | undefined | null {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer +(\S+)\s*$/i.exec(header);
    return match === null ? null : match[1]!;
  }
  const query = params?.get('authorization');
  if (query !== null && query !== undefined) return query;
  const cookies = parseCookies(req.headers.cookie);
  return cookies.get(MERCURE_COOKIE) ?? cookies.get(MERCURE_SECURE_COOKIE);
}

function selectors(value: unknown): TopicSelector[] {
  if (!Array.isArray(value)) return [];
  return value.filter((s): s is string => typeof s === 'string' && s.length <= MAX_SELECTOR_LENGTH).map((s) => new TopicSelector(s));
}

/** Verifies `token` with `key` (its one algorithm; `exp` and `nbf` enforced); undefined when it is not valid. */
export async function verifyMercureToken(token: string, key: MercureKey): Promise<MercureClaims | undefined> {
  try {
    const { payload } = await jwtVerify(token, key.key, { algorithms: [key.algorithm] });
    const claim = payload['mercure'];
    const mercure = typeof claim === 'object' && claim !== null ? (claim as Record<string, unknown>) : {};
    return {
      publish: selectors(mercure['publish']),
      subscribe: selectors(mercure['subscribe']),
      payload: mercure['payload'],
      user: typeof payload.sub === 'string' ? payload.sub : null,
      expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined,
    };
  } catch {
    return undefined;
  }
}
