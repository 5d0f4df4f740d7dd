import type { HeraldClientError, PresenceChange, PresenceMember } from '@herald/client';

/** The members of a channel as a hook reads them. Replaced, never mutated, on every change. */
export interface PresenceSnapshot {
  /** Current members, one per session, in the order they became known. */
  readonly members: readonly PresenceMember[];
  /** Whether the member list has been read from the hub at least once. */
  readonly ready: boolean;
  /** The last failure to read the member list, cleared by the next successful read. */
  readonly error: HeraldClientError | undefined;
}

/** @internal */
export const EMPTY_PRESENCE: PresenceSnapshot = Object.freeze({ members: Object.freeze([]), ready: false, error: undefined });

/**
 * Keeps a channel's member list: a query to the hub, then the join and leave events. Events that
 * arrive while a query is in flight are replayed over its answer, so a join or leave racing the
 * query is never lost (each event sets one member's state, so replaying one the answer already
 * reflects changes nothing).
 */
export class PresenceTracker {
  snapshot: PresenceSnapshot = EMPTY_PRESENCE;
  readonly #query: () => Promise<PresenceMember[]>;
  readonly #changed: () => void;
  #members = new Map<string, PresenceMember>();
  /** Events received since the query in flight was sent; undefined when none is in flight. */
  #pending: PresenceChange[] | undefined;
  #generation = 0;

  constructor(query: () => Promise<PresenceMember[]>, changed: () => void) {
    this.#query = query;
    this.#changed = changed;
  }

  /** Reads the member list again (after subscribing, and after every reconnect). */
  refresh(): void {
    const generation = ++this.#generation;
    this.#pending = [];
    this.#query().then(
      (members) => {
        if (generation !== this.#generation) return;
        const pending = this.#pending ?? [];
        this.#pending = undefined;
        this.#members = new Map(members.map((m) => [m.client, { client: m.client, user: m.user }]));
        for (const change of pending) this.#apply(change);
        this.#publish(true, undefined);
      },
      (error: unknown) => {
        if (generation !== this.#generation) return;
        this.#pending = undefined;
        this.#publish(this.snapshot.ready, error as HeraldClientError);
      },
    );
  }

  /** Applies a join or leave event. */
  change(change: PresenceChange): void {
    this.#pending?.push(change);
    this.#apply(change);
    this.#publish(this.snapshot.ready, this.snapshot.error);
  }

  /** Ignores the answer of any query in flight. */
  stop(): void {
    this.#generation++;
    this.#pending = undefined;
  }

  #apply(change: PresenceChange): void {
    if (change.type === 'join') this.#members.set(change.member.client, { client: change.member.client, user: change.member.user });
    else this.#members.delete(change.member.client);
  }

  #publish(ready: boolean, error: HeraldClientError | undefined): void {
    this.snapshot = { members: [...this.#members.values()], ready, error };
    this.#changed();
  }
}
