import type { HistoryPolicy } from '../engine/history-policy.js';
import { ErrorCode } from '@herald/protocol';
import { matchesAny, type Identity, type Operation } from './identity.js';
import { HeraldError } from '../errors.js';

/**
 * Who may do an operation on a namespace's channels:
 * - `anonymous`: anyone, with or without a token;
 * - `authenticated`: any valid token;
 * - `granted`: a token whose claims grant the channel (see `grantsFromClaims`);
 * - `owner`: the user named in the channel (`namespace:<user id>`), and grants;
 * - `none`: nobody but a backend with the API key.
 */
export type Access = 'anonymous' | 'authenticated' | 'granted' | 'owner' | 'none';

/** Rules of one namespace (the part of a channel name before the first `:`). */
export interface NamespaceRules {
  readonly subscribe: Access;
  readonly publish: Access;
  readonly history: Access;
  readonly presence: Access;
  /** Messages kept per channel; overrides the hub-wide setting. */
  readonly historySize?: number | undefined;
  /** Seconds a message is kept; overrides the hub-wide setting. */
  readonly historyTtl?: number | undefined;
}

/** Deny everything to clients (the production default for unlisted namespaces). */
export const DENY_ALL: NamespaceRules = { subscribe: 'none', publish: 'none', history: 'none', presence: 'none' };
/** Allow everything to everyone (the dev profile). */
export const ALLOW_ALL: NamespaceRules = { subscribe: 'anonymous', publish: 'anonymous', history: 'anonymous', presence: 'anonymous' };

const OPERATIONS: readonly Operation[] = ['subscribe', 'publish', 'history', 'presence'];

/** The user an owner channel belongs to: what follows the namespace (`inbox:alice` → `alice`). */
export function ownerOf(channel: string): string {
  const colon = channel.indexOf(':');
  return colon === -1 ? channel : channel.slice(colon + 1);
}

/**
 * Whether a channel is the hub's own (`~` then a lower-case letter, such as the Mercure door's
 * `~mercure`, which holds every Mercure update, private ones too): no client may subscribe, read,
 * publish or see its presence, whatever the namespace rules; the API key and admins may. No
 * name a door maps (`~HH` escapes are upper-case hex) starts that way.
 */
export function isReservedChannel(channel: string): boolean {
  const second = channel.charCodeAt(1);
  return channel.charCodeAt(0) === 126 /* ~ */ && second >= 97 && second <= 122;
}

/** The namespace of a channel: what precedes the first `:`, or `''` for a channel without one. */
export function namespaceOf(channel: string): string {
  const colon = channel.indexOf(':');
  return colon === -1 ? '' : channel.slice(0, colon);
}

/**
 * Channel permissions by namespace. Checked on every subscribe, publish, history read, presence
 * read and resume, against the identity's current grants; a denial is a `forbidden` (2001) error,
 * or `unauthorized` (2000) when a token would have helped.
 */
export class Permissions {
  readonly #namespaces: ReadonlyMap<string, NamespaceRules>;
  readonly #fallback: NamespaceRules;

  /**
   * @param namespaces rules by namespace name (`''` for channels without a namespace)
   * @param fallback rules for namespaces not listed
   */
  constructor(namespaces: Record<string, NamespaceRules> = {}, fallback: NamespaceRules = DENY_ALL) {
    this.#namespaces = new Map(Object.entries(namespaces));
    this.#fallback = fallback;
  }

  /** Permissions that let anyone do anything (the dev profile). */
  static open(): Permissions {
    return new Permissions({}, ALLOW_ALL);
  }

  /**
   * Whether these permissions let anyone do anything on every channel: every listed namespace and
   * the fallback give `anonymous` for subscribe, publish, history and presence (as
   * {@link Permissions.open} does). A hub with such permissions and no credentials is open (see
   * `Security.open`).
   */
  get open(): boolean {
    const allOpen = (rules: NamespaceRules): boolean => OPERATIONS.every((op) => rules[op] === 'anonymous');
    return allOpen(this.#fallback) && [...this.#namespaces.values()].every(allOpen);
  }

  /**
   * The retention of each channel: its namespace's `historySize`/`historyTtl`, else `defaults`.
   * Engines take it as their `historyFor` option.
   */
  historyFor(defaults: { readonly size: number; readonly ttl: number }): (channel: string) => HistoryPolicy {
    return (channel) => {
      const rules = this.rules(channel);
      return { size: rules.historySize ?? defaults.size, ttl: rules.historyTtl ?? defaults.ttl };
    };
  }

  /** The rules that apply to a channel. */
  rules(channel: string): NamespaceRules {
    return this.#namespaces.get(namespaceOf(channel)) ?? this.#fallback;
  }

  /** Whether `identity` may do `op` on `channel`. */
  allows(identity: Identity, op: Operation, channel: string): boolean {
    if (identity.server === true || identity.admin === true) return true;
    if (isReservedChannel(channel)) return false;
    const access = this.rules(channel)[op];
    const authenticated = identity.authenticated;
    switch (access) {
      case 'anonymous':
        return true;
      case 'authenticated':
        return authenticated;
      case 'granted':
        return authenticated && matchesAny(identity.grants[op], channel);
      case 'owner':
        return (
          (identity.user !== null && ownerOf(channel) === identity.user) || (authenticated && matchesAny(identity.grants[op], channel))
        );
      case 'none':
        return false;
    }
  }

  /** Throws `forbidden` (or `unauthorized` for an anonymous identity) unless allowed. */
  check(identity: Identity, op: Operation, channel: string): void {
    if (this.allows(identity, op, channel)) return;
    if (isReservedChannel(channel)) throw new HeraldError(ErrorCode.Forbidden, `${channel} is reserved for the hub's own use`);
    if (!identity.authenticated && this.rules(channel)[op] !== 'none')
      throw new HeraldError(ErrorCode.Unauthorized, `${op} on ${channel} needs a token`);
    throw new HeraldError(ErrorCode.Forbidden, `${op} on ${channel} is not allowed`);
  }
}
