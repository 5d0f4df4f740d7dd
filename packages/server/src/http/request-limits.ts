import type { RequestRate } from './rate-limit-store.js';

/**
 * The HTTP requests with a rate limit: `publish` (`POST /api/publish`, a batch counting one per message),
 * `poll` (`GET /api/messages`, held or not), `history` (`GET /api/history`) and `ticket`
 * (`POST /api/ticket`).
 */
export type RequestKind = 'publish' | 'poll' | 'history' | 'ticket';

/** The kinds, in the order the docs list them. */
export const REQUEST_KINDS: readonly RequestKind[] = ['publish', 'poll', 'history', 'ticket'];

/**
 * One kind's limits. `perIp` counts the requests of one client IP address on this node (checked
 * before the credentials are read); `perUser` those of one user (the token's `sub`) in the hub's
 * `RateLimitStore`: on this node, or on every node sharing a Redis store. Requests carrying a valid
 * API key are not counted. `undefined` or `null`: no limit.
 */
export interface RequestKindLimits {
  readonly perIp?: RequestRate | null | undefined;
  readonly perUser?: RequestRate | null | undefined;
}

/** Limits per {@link RequestKind}; a kind left out is not limited. */
export type RequestLimits = { readonly [K in RequestKind]?: RequestKindLimits | undefined };

/** {@link RequestLimits} checked: every kind present, a missing limit `null`. */
export type ResolvedRequestLimits = {
  readonly [K in RequestKind]: { readonly perIp: RequestRate | null; readonly perUser: RequestRate | null };
};

function rate(name: string, value: RequestRate | null | undefined): RequestRate | null {
  if (value === undefined || value === null) return null;
  if (typeof value.perSecond !== 'number' || !Number.isFinite(value.perSecond) || value.perSecond <= 0)
    throw new RangeError(`${name}.perSecond must be a number > 0`);
  if (!Number.isInteger(value.burst) || value.burst < 1) throw new RangeError(`${name}.burst must be an integer ≥ 1`);
  return { perSecond: value.perSecond, burst: value.burst };
}

/** Checks the limits; a bad one throws a `RangeError` naming it (`requestLimits.poll.perIp.burst must be …`). */
export function resolveRequestLimits(limits: RequestLimits = {}): ResolvedRequestLimits {
  const kind = (name: RequestKind): ResolvedRequestLimits[RequestKind] => ({
    perIp: rate(`requestLimits.${name}.perIp`, limits[name]?.perIp),
    perUser: rate(`requestLimits.${name}.perUser`, limits[name]?.perUser),
  });
  return { publish: kind('publish'), poll: kind('poll'), history: kind('history'), ticket: kind('ticket') };
}

/**
 * What a refusal says: `at most 100 publish requests per second per IP address`; for the rest of a
 * batch (`batch`), `… (a batch counts one per message)`.
 */
export function requestRefusal(kind: RequestKind, scope: 'ip' | 'user', limit: RequestRate, batch = false): string {
  const text = `at most ${limit.perSecond} ${kind} requests per second per ${scope === 'ip' ? 'IP address' : 'user'}`;
  return batch ? `${text} (a batch counts one per message)` : text;
}
