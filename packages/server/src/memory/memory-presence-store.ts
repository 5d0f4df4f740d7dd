import type { PresenceMember } from '@herald/protocol';
import type { PresenceAddCount, PresenceMarker, PresenceRemoveCount, PresenceStore } from '../engine/broker.js';
import { PresenceCounts } from './presence-counts.js';

/**
 * Per member: its user, or the member itself when it carries `info` (most members carry none, so
 * most cost no object).
 */
type Held = string | null | PresenceMember;

/** Presence in this process's memory (single node). */
export class MemoryPresenceStore implements PresenceStore {
  /** Per channel, each member by client id. */
  #channels = new Map<string, Map<string, Held>>();
  /** Counted members and pending markers (webhook events): one process, so counting is atomic as is. */
  readonly #counts = new PresenceCounts();

  add(channel: string, entry: PresenceMember): Promise<void> {
    let members = this.#channels.get(channel);
    if (members === undefined) {
      members = new Map();
      this.#channels.set(channel, members);
    }
    members.set(entry.client, entry.info === undefined ? entry.user : { client: entry.client, user: entry.user, info: entry.info });
    return Promise.resolve();
  }

  remove(channel: string, client: string): Promise<void> {
    const members = this.#channels.get(channel);
    if (members?.delete(client) === true && members.size === 0) this.#channels.delete(channel);
    return Promise.resolve();
  }

  list(channel: string): Promise<PresenceMember[]> {
    const members = this.#channels.get(channel);
    const list: PresenceMember[] = [];
    if (members !== undefined) {
      for (const [client, held] of members) list.push(held === null || typeof held === 'string' ? { client, user: held } : held);
    }
    return Promise.resolve(list);
  }

  channels(prefix: string): Promise<string[]> {
    const found: string[] = [];
    // Emptied channels are deleted at once (see remove): every key has a member.
    for (const channel of this.#channels.keys()) if (channel.startsWith(prefix)) found.push(channel);
    return Promise.resolve(found);
  }

  async addCounting(channel: string, entry: PresenceMember, userKey: string): Promise<PresenceAddCount> {
    await this.add(channel, entry);
    return this.#counts.add(channel, entry.client, userKey);
  }

  async removeCounting(channel: string, client: string, userKey: string, marker?: PresenceMarker): Promise<PresenceRemoveCount> {
    await this.remove(channel, client);
    return this.#counts.remove(channel, client, userKey, marker?.token);
  }

  claimMarker(channel: string, userKey: string | undefined, token: string): Promise<boolean> {
    return Promise.resolve(this.#counts.claim(channel, userKey, token));
  }

  close(): Promise<void> {
    this.#channels.clear();
    this.#counts.clear();
    return Promise.resolve();
  }
}
