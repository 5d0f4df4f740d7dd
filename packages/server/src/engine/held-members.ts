/** A per-channel collection of client ids (a `Set`, or a `Map` keyed by client): what a release drops from. */
export interface ClientsByChannel {
  get(channel: string): { delete(client: string): boolean; readonly size: number } | undefined;
  delete(channel: string): boolean;
}

/** Removes `client` from `channel`'s collection in `byChannel`, dropping the channel once it is empty. */
export function deleteChannelClient(byChannel: ClientsByChannel, channel: string, client: string): void {
  const clients = byChannel.get(channel);
  if (clients?.delete(client) === true && clients.size === 0) byChannel.delete(channel);
}

/**
 * The members a node holds for a presence store shared by several nodes (`PresenceStore.hold`), per
 * channel: the store re-stamps their holds with its members. Keeps only the node's own bookkeeping;
 * the store's engine call (that tells whether the hold was the first or the last) is passed in.
 */
export class HeldMembers {
  readonly #held = new Map<string, Set<string>>();
  readonly #alsoDropped: readonly ClientsByChannel[];

  /**
   * @param alsoDropped this node's other per-channel records of its members (its members, its counted
   * members): a release that leaves the member held by another node drops it from them, so that only
   * that node re-stamps it.
   */
  constructor(alsoDropped: readonly ClientsByChannel[]) {
    this.#alsoDropped = alsoDropped;
  }

  /** Whether this node holds no member. */
  get empty(): boolean {
    return this.#held.size === 0;
  }

  /**
   * Runs `engineHold` (which stores the hold and resolves whether no other node held the member),
   * then records the hold; resolves what `engineHold` resolved. A failed `engineHold` records nothing.
   */
  async hold(channel: string, client: string, engineHold: () => Promise<boolean>): Promise<boolean> {
    const first = await engineHold();
    let clients = this.#held.get(channel);
    if (clients === undefined) {
      clients = new Set();
      this.#held.set(channel, clients);
    }
    clients.add(client);
    return first;
  }

  /**
   * Forgets the hold (before `engineRelease` runs, so it is not re-stamped meanwhile), then runs
   * `engineRelease` (which ends the hold and resolves whether no other node holds the member). When
   * another does, the member is dropped from the records given to the constructor. Resolves what
   * `engineRelease` resolved.
   */
  async release(channel: string, client: string, engineRelease: () => Promise<boolean>): Promise<boolean> {
    deleteChannelClient(this.#held, channel, client);
    const last = await engineRelease();
    if (!last) for (const records of this.#alsoDropped) deleteChannelClient(records, channel, client);
    return last;
  }

  /** Each hold as `[channel, client]`, in the order held (per channel, channels by first hold). */
  *entries(): IterableIterator<[string, string]> {
    for (const [channel, clients] of this.#held) for (const client of clients) yield [channel, client];
  }

  /** Forgets every hold (on close, once they are deleted or left to expire). */
  clear(): void {
    this.#held.clear();
  }
}
