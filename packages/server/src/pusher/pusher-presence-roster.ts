import type { PresenceMember } from '@herald/protocol';

/** A member as Pusher clients see it: `user_id` and `user_info`. */
export interface PusherMember {
  readonly user_id: string;
  readonly user_info?: unknown;
}

/** A Herald presence member as a Pusher member: its user (its client id when anonymous) and its info. */
export function pusherMember(member: PresenceMember): PusherMember {
  const id = member.user ?? member.client;
  return member.info === undefined ? { user_id: id } : { user_id: id, user_info: member.info };
}

/**
 * A presence channel's members by user, for one Pusher subscription: Herald's presence is per
 * connection, Pusher's per user, so a user joins with its first connection and leaves with its last.
 * Join and leave events are applied by connection (`client`), so one seen twice counts once.
 */
export class PresenceRoster {
  /** user id → its connections and info. */
  readonly #users = new Map<string, { clients: Set<string>; info: unknown }>();

  /** Adds a connection; returns the member when its user is new (`member_added`). */
  join(member: PresenceMember): PusherMember | undefined {
    const { user_id: id, user_info: info } = pusherMember(member);
    const user = this.#users.get(id);
    if (user !== undefined) {
      user.clients.add(member.client);
      return undefined;
    }
    this.#users.set(id, { clients: new Set([member.client]), info });
    return info === undefined ? { user_id: id } : { user_id: id, user_info: info };
  }

  /** Removes a connection; returns the user id when it was its user's last (`member_removed`). */
  leave(member: PresenceMember): string | undefined {
    const id = member.user ?? member.client;
    const user = this.#users.get(id);
    if (user === undefined || !user.clients.delete(member.client) || user.clients.size > 0) return undefined;
    this.#users.delete(id);
    return id;
  }

  /** `{"presence": {"ids", "hash", "count"}}`: the data of `pusher_internal:subscription_succeeded`. */
  snapshot(): { presence: { ids: string[]; hash: Record<string, unknown>; count: number } } {
    const ids = [...this.#users.keys()];
    const hash: Record<string, unknown> = {};
    for (const [id, user] of this.#users) hash[id] = user.info ?? null;
    return { presence: { ids, hash, count: ids.length } };
  }
}
