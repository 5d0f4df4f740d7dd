import type { PresenceAddCount, PresenceExpiry, PresenceMarker, PresenceRemoveCount } from '@herald/server';
import type { KV } from '@nats-io/kv';
import type { KvCas } from './kv-cas.js';
import { fromKeyPart, keyPart } from './names.js';

/** One channel's counted members and pending markers, as one KV entry (changed by compare-and-set only). */
interface ChannelCounts {
  /** Counted members: client → user key and expiry (clock ms; re-stamped by the member's node). */
  readonly members: { [client: string]: { readonly u: string; readonly e: number } };
  /** Pending-leave markers: user key → token and expiry. */
  readonly leaves: { [userKey: string]: { readonly t: string; readonly e: number } };
  /** The pending-vacate marker. */
  readonly vacate?: { readonly t: string; readonly e: number } | undefined;
  /** Claims held for a repeated claim within `holdMs`: `u<user key>` or `v` → token and expiry. */
  readonly claims: { [key: string]: { readonly t: string; readonly e: number } };
}

/** Compare-and-set rounds a counting call may lose to other nodes before it fails. */
const CAS_ATTEMPTS = 100;

const empty = (): ChannelCounts => ({ members: {}, leaves: {}, claims: {} });

/**
 * The counting half of `NatsPresenceStore`: per channel, one KV entry (bucket `<prefix>_counts`)
 * with the counted members, their user keys and expiries, and the pending markers; every change is a
 * compare-and-set at the revision read, so counts are exact across nodes. Members whose node
 * stopped re-stamping them (it died) are dropped, uncounted and reported, by the next change of the
 * channel or by the periodic sweep.
 */
export class PresenceCounts {
  readonly #kv: KV;
  readonly #cas: KvCas;

  constructor(kv: KV, cas: KvCas) {
    this.#kv = kv;
    this.#cas = cas;
  }

  /** Applies `change` to the channel's entry (read, change, compare-and-set; again on a lost race). */
  async #update<T>(channel: string, now: number, change: (counts: ChannelCounts) => { next: ChannelCounts; result: T }): Promise<T> {
    const key = keyPart(channel);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const entry = await this.#kv.get(key);
      const current = entry !== null && entry.operation === 'PUT' ? parse(entry.string()) : undefined;
      const { next, result } = change(prune(current ?? empty(), now));
      // Nothing changed (a sweep that found nothing expired, a repeated claim): no write.
      if (current !== undefined && entry !== null && JSON.stringify(next) === entry.string()) return result;
      try {
        if (isEmpty(next)) {
          if (current !== undefined && entry !== null) await this.#cas.delete(key, entry.revision);
        } else await this.#cas.put(key, JSON.stringify(next), entry?.revision ?? 0);
        return result;
      } catch {
        continue;
      }
    }
    throw new Error('presence counting lost every race for its channel');
  }

  add(channel: string, client: string, userKey: string, now: number, ttl: number): Promise<PresenceAddCount> {
    return this.#update(channel, now, (counts) => {
      const { kept, expired } = sweep(counts, now);
      const added = !(client in kept.members);
      const members = { ...kept.members, [client]: { u: userKey, e: now + ttl } };
      const userReturned = added && userKey in kept.leaves;
      const channelReturned = added && kept.vacate !== undefined;
      const leaves = userReturned ? without(kept.leaves, userKey) : kept.leaves;
      const vacate = channelReturned ? undefined : kept.vacate;
      const next: ChannelCounts = { ...kept, members, leaves, vacate };
      return {
        next,
        result: {
          added,
          channelMembers: Object.keys(members).length,
          userMembers: countUser(members, userKey),
          userReturned,
          channelReturned,
          ...(expired && { expired }),
        },
      };
    });
  }

  remove(channel: string, client: string, userKey: string, now: number, marker?: PresenceMarker): Promise<PresenceRemoveCount> {
    return this.#update(channel, now, (counts) => {
      const { kept, expired } = sweep(counts, now);
      const removed = client in kept.members;
      const members = removed ? without(kept.members, client) : kept.members;
      const channelMembers = Object.keys(members).length;
      const userMembers = countUser(members, userKey);
      let { leaves, vacate } = kept;
      if (removed && marker !== undefined) {
        const set = { t: marker.token, e: now + Math.ceil(marker.ttl) };
        if (userMembers === 0) leaves = { ...leaves, [userKey]: set };
        if (channelMembers === 0) vacate = set;
      }
      return {
        next: { ...kept, members, leaves, vacate },
        result: { removed, channelMembers, userMembers, ...(expired && { expired }) },
      };
    });
  }

  claim(channel: string, userKey: string | undefined, token: string, now: number, holdMs: number): Promise<boolean> {
    const claimKey = userKey === undefined ? 'v' : `u${userKey}`;
    return this.#update(channel, now, (counts) => {
      const marker = userKey === undefined ? counts.vacate : counts.leaves[userKey];
      if (marker !== undefined && marker.t === token) {
        const claims = holdMs > 0 ? { ...counts.claims, [claimKey]: { t: token, e: now + holdMs } } : counts.claims;
        const next: ChannelCounts =
          userKey === undefined ? { ...counts, vacate: undefined, claims } : { ...counts, leaves: without(counts.leaves, userKey), claims };
        return { next, result: true };
      }
      return { next: counts, result: counts.claims[claimKey]?.t === token };
    });
  }

  /** Re-stamps this node's counted members of the channel. */
  restamp(channel: string, clients: readonly string[], now: number, ttl: number): Promise<void> {
    return this.#update(channel, now, (counts) => {
      const members = { ...counts.members };
      for (const client of clients) {
        const member = members[client];
        if (member !== undefined) members[client] = { u: member.u, e: now + ttl };
      }
      return { next: { ...counts, members }, result: undefined };
    });
  }

  /** Drops the expired members of up to `max` channels; calls `report` for each channel that had some. */
  async sweepAll(now: number, max: number, report: (channel: string, expiry: PresenceExpiry) => void): Promise<void> {
    const keys: string[] = [];
    for await (const key of await this.#kv.keys()) {
      keys.push(key);
      if (keys.length >= max) break;
    }
    for (const key of keys) {
      const channel = fromKeyPart(key);
      const expired = await this.#update(channel, now, (counts) => {
        const swept = sweep(counts, now);
        return { next: swept.kept, result: swept.expired };
      });
      if (expired !== undefined) report(channel, expired);
    }
  }
}

/** Drops the markers and claims past their expiry. */
function prune(counts: ChannelCounts, now: number): ChannelCounts {
  const live = <T extends { readonly e: number }>(map: { [key: string]: T }): { [key: string]: T } =>
    Object.fromEntries(Object.entries(map).filter(([, value]) => value.e > now));
  return {
    members: counts.members,
    leaves: live(counts.leaves),
    vacate: counts.vacate !== undefined && counts.vacate.e > now ? counts.vacate : undefined,
    claims: live(counts.claims),
  };
}

/** Drops the members whose node stopped re-stamping them: what they leave behind, if any. */
function sweep(counts: ChannelCounts, now: number): { kept: ChannelCounts; expired: PresenceExpiry | undefined } {
  const gone = Object.entries(counts.members).filter(([, member]) => member.e <= now);
  if (gone.length === 0) return { kept: counts, expired: undefined };
  const members = Object.fromEntries(Object.entries(counts.members).filter(([, member]) => member.e > now));
  const left = new Map<string, string>();
  for (const [client, member] of gone) if (countUser(members, member.u) === 0) left.set(member.u, client);
  const vacated = Object.keys(members).length === 0;
  return {
    kept: { ...counts, members },
    expired: { left: [...left].map(([userKey, client]) => ({ userKey, client })), vacated },
  };
}

function countUser(members: ChannelCounts['members'], userKey: string): number {
  let count = 0;
  for (const member of Object.values(members)) if (member.u === userKey) count++;
  return count;
}

function without<T>(map: { [key: string]: T }, key: string): { [key: string]: T } {
  return Object.fromEntries(Object.entries(map).filter(([k]) => k !== key));
}

function isEmpty(counts: ChannelCounts): boolean {
  return (
    Object.keys(counts.members).length === 0 &&
    Object.keys(counts.leaves).length === 0 &&
    counts.vacate === undefined &&
    Object.keys(counts.claims).length === 0
  );
}

function parse(text: string): ChannelCounts | undefined {
  try {
    const value = JSON.parse(text) as Partial<ChannelCounts>;
    if (typeof value.members !== 'object' || typeof value.leaves !== 'object' || typeof value.claims !== 'object') return undefined;
    return value as ChannelCounts;
  } catch {
    return undefined;
  }
}
