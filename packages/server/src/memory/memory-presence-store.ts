import type { PresenceMember } from '@herald/protocol';
import type { PresenceStore } from '../engine/broker.js';

/** Presence in this process's memory (single node). */
export class MemoryPresenceStore implements PresenceStore {
  #channels = new Map<string, Map<string, PresenceMember>>();

  add(channel: string, entry: PresenceMember): Promise<void> {
    let members = this.#channels.get(channel);
    if (members === undefined) {
      members = new Map();
      this.#channels.set(channel, members);
    }
    // Stored as given (the hub makes a fresh object per member): one allocation less per subscription.
    members.set(entry.client, entry);
    return Promise.resolve();
  }

  remove(channel: string, client: string): Promise<void> {
    const members = this.#channels.get(channel);
    if (members?.delete(client) === true && members.size === 0) this.#channels.delete(channel);
    return Promise.resolve();
  }

  list(channel: string): Promise<PresenceMember[]> {
    return Promise.resolve([...(this.#channels.get(channel)?.values() ?? [])]);
  }

  close(): Promise<void> {
    this.#channels.clear();
    return Promise.resolve();
  }
}
