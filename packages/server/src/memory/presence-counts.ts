import type { PresenceAddCount, PresenceRemoveCount } from '../engine/broker.js';

/** One channel's counted members: each client's user key, and each user key's number of members. */
interface ChannelCounts {
  readonly owners: Map<string, string>;
  readonly users: Map<string, number>;
}

/**
 * The counting half of a presence store kept in this process (memory and SQLite engines): counted
 * members per channel and user key, and the pending-leave and pending-vacate markers. Everything
 * runs synchronously, so each operation is atomic. Markers never expire on their own: the webhook
 * dispatcher claims each one when its queued leave or vacate is due, or the hub at once when it
 * closes; they die with the process (a queued event whose marker is gone is cancelled).
 */
export class PresenceCounts {
  readonly #channels = new Map<string, ChannelCounts>();
  /** Marker → token; a user's marker is `channel\nuserKey`, the channel's `channel\n`. */
  readonly #markers = new Map<string, string>();

  add(channel: string, client: string, userKey: string): PresenceAddCount {
    let counts = this.#channels.get(channel);
    if (counts === undefined) {
      counts = { owners: new Map(), users: new Map() };
      this.#channels.set(channel, counts);
    }
    const known = counts.owners.get(client);
    if (known !== undefined) {
      const userMembers = counts.users.get(known) ?? 0;
      return { added: false, channelMembers: counts.owners.size, userMembers, userReturned: false, channelReturned: false };
    }
    counts.owners.set(client, userKey);
    const userMembers = (counts.users.get(userKey) ?? 0) + 1;
    counts.users.set(userKey, userMembers);
    const userReturned = userMembers === 1 && this.#markers.delete(markerKey(channel, userKey));
    const channelReturned = counts.owners.size === 1 && this.#markers.delete(markerKey(channel, undefined));
    return { added: true, channelMembers: counts.owners.size, userMembers, userReturned, channelReturned };
  }

  remove(channel: string, client: string, userKey: string, token: string | undefined): PresenceRemoveCount {
    const counts = this.#channels.get(channel);
    const owner = counts?.owners.get(client);
    if (counts === undefined || owner === undefined) {
      return { removed: false, channelMembers: counts?.owners.size ?? 0, userMembers: counts?.users.get(userKey) ?? 0 };
    }
    counts.owners.delete(client);
    const userMembers = (counts.users.get(owner) ?? 1) - 1;
    if (userMembers > 0) counts.users.set(owner, userMembers);
    else {
      counts.users.delete(owner);
      if (token !== undefined) this.#markers.set(markerKey(channel, owner), token);
    }
    const channelMembers = counts.owners.size;
    if (channelMembers === 0) {
      this.#channels.delete(channel);
      if (token !== undefined) this.#markers.set(markerKey(channel, undefined), token);
    }
    return { removed: true, channelMembers, userMembers };
  }

  claim(channel: string, userKey: string | undefined, token: string): boolean {
    const key = markerKey(channel, userKey);
    if (this.#markers.get(key) !== token) return false;
    this.#markers.delete(key);
    return true;
  }

  clear(): void {
    this.#channels.clear();
    this.#markers.clear();
  }
}

function markerKey(channel: string, userKey: string | undefined): string {
  return `${channel}\n${userKey ?? ''}`;
}
