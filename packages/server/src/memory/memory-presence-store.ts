import type { PresenceMember } from '@herald/protocol';
import type { PresenceStore } from '../engine/broker.js';

/** Presence in this process's memory (single node). */
export class MemoryPresenceStore implements PresenceStore {
  /** Per channel, each member's user by client id: no member object kept per subscription. */
  #channels = new Map<string, Map<string, string | null>>();

  add(channel: string, entry: PresenceMember): Promise<void> {
    let members = this.#channels.get(channel);
    if (members === undefined) {
      members = new Map();
      this.#channels.set(channel, members);
    }
    members.set(entry.client, entry.user);
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
    if (members !== undefined) for (const [client, user] of members) list.push({ client, user });
    return Promise.resolve(list);
  }

  close(): Promise<void> {
    this.#channels.clear();
    return Promise.resolve();
  }
}
