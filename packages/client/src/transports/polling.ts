import {
  CloseCode,
  encodeCursor,
  encodePosition,
  ErrorCode,
  parseCursor,
  type DeltaPush,
  type Envelope,
  type CursorEntry,
  type Gap,
  type PresenceMember,
} from '@herald/protocol';
import { HttpOperations, query, refusedChannel, request } from './http.js';
import type { Link, Transport } from './transport.js';

/** A join, leave or resync marker in a poll's answer (see `session` and `joinLeave`). */
type PollPresence =
  | { type: 'join' | 'leave'; channel: string; member: PresenceMember; offset: number }
  | { type: 'resync'; channel: string; offset?: undefined };

interface PollAnswer {
  messages: (Envelope | DeltaPush)[];
  cursor: string;
  gaps?: Gap[];
  session?: string;
  presence?: PollPresence[];
}

/**
 * The long-polling transport: `GET /api/messages` held by the hub until something arrives, asked
 * again at once with the positions reached. Stateless on the hub, so it passes any proxy.
 */
export class PollingTransport extends HttpOperations implements Transport {
  readonly name = 'polling';
  readonly #link: Link;
  #abort: AbortController | undefined;
  #wake: (() => void) | undefined;
  #closed = false;
  /** The poll in flight asks for a session (and is answered at once when the hub hands one out). */
  #asking = false;
  /** The hub answered a poll asking for a session without one (presence off, or its sessions full): it holds such polls. */
  #sessionless = false;
  /** Channels the hub refused on this connection, left out of its requests until subscribed again. */
  readonly #dropped = new Set<string>();

  constructor(link: Link) {
    super(link, encodePosition);
    this.#link = link;
  }

  async open(): Promise<ReadonlySet<string>> {
    await this.#link.pinned();
    const opened = new Set(this.#link.channels().keys());
    for (;;) {
      const channels = this.#channels();
      if (channels.size === 0) {
        // Nothing to receive (a client that only publishes or reads, or every channel refused): a reachability check.
        await request<unknown>(this.#link, '/healthz');
        void this.#loop();
        return opened;
      }
      const fresh = [...channels].filter(([, position]) => position === undefined).map(([channel]) => channel);
      const asked = fresh.length > 0 ? fresh : [...channels.keys()];
      let answer: PollAnswer;
      try {
        // Reachability check, and the current end of the log for channels that start from now.
        answer = await request<PollAnswer>(this.#link, `/api/messages${query(asked, { since: 'now' })}`);
      } catch (error) {
        // One channel refused: its subscriptions fail, the others are asked for again without it.
        if (!this.#drop(error, asked)) throw error;
        continue;
      }
      const parsed = parseCursor(answer.cursor);
      if (parsed.ok && fresh.length > 0) for (const channel of fresh) this.#start(channel, parsed.value.get(channel));
      void this.#loop();
      // The refused ones too: they are the client's to end (as the transport reported), not to subscribe again.
      return opened;
    }
  }

  async subscribe(channel: string, since: CursorEntry | undefined): Promise<CursorEntry | undefined> {
    // Asked for again by a new subscription: the hub decides afresh.
    this.#dropped.delete(channel);
    let position = since;
    if (position === undefined) {
      const answer = await request<PollAnswer>(this.#link, `/api/messages${query([channel], { since: 'now' })}`);
      const parsed = parseCursor(answer.cursor);
      position = parsed.ok ? parsed.value.get(channel) : undefined;
      this.#start(channel, position);
    }
    this.#restart();
    return position;
  }

  unsubscribe(): void {
    this.#restart();
  }

  close(): void {
    this.#closed = true;
    this.#restart();
  }

  /**
   * The answer's messages and presence changes in the order they came: a change of a channel after
   * the messages of that channel up to its `offset` (the last message before it); so the changes of
   * one channel keep their order among themselves and with its messages.
   */
  #deliver(messages: readonly (Envelope | DeltaPush)[], changes: readonly PollPresence[]): void {
    const emit = (change: PollPresence): void => {
      if (change.type === 'resync') this.#link.presenceResync(change.channel);
      else this.#link.presence({ type: change.type, channel: change.channel, member: change.member });
    };
    const sent = new Set<PollPresence>();
    for (const message of messages) {
      for (const change of changes) {
        if (sent.has(change) || change.channel !== message.channel || (change.offset ?? 0) >= message.offset) continue;
        sent.add(change);
        emit(change);
      }
      this.#link.message(message);
    }
    for (const change of changes) if (!sent.has(change)) emit(change);
  }

  /** The link's channels but those the hub refused on this connection. */
  #channels(): Map<string, CursorEntry | undefined> {
    const channels = this.#link.channels();
    for (const channel of this.#dropped) {
      // Gone from the client (it ended the refused subscriptions): nothing left to leave out.
      if (!channels.delete(channel)) this.#dropped.delete(channel);
    }
    return channels;
  }

  /**
   * When `error` refuses one of the `asked` channels (the hub names it, see
   * {@link refusedChannel}): reports it, leaves it out of the next requests and returns true.
   */
  #drop(error: unknown, asked: Iterable<string>): boolean {
    const channel = refusedChannel(error, asked);
    if (channel === undefined || this.#dropped.has(channel)) return false;
    this.#dropped.add(channel);
    this.#link.refused(channel, error);
    return true;
  }

  #start(channel: string, position: CursorEntry | undefined): void {
    if (position !== undefined) this.#link.start(channel, position);
  }

  /**
   * Ends the poll in flight so the next one asks for the current set of channels; but not one asking
   * for a session (answered at once): the hub's token must not be lost, or the hub would count a
   * second member for this client until the first's grace period ends.
   */
  #restart(): void {
    if (this.#closed || !this.#asking) this.#abort?.abort();
    this.#wake?.();
  }

  async #loop(): Promise<void> {
    while (!this.#closed) {
      const channels = this.#channels();
      if (channels.size === 0) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      const known = new Map<string, CursorEntry>();
      for (const [channel, position] of channels) if (position !== undefined) known.set(channel, position);
      const abort = new AbortController();
      this.#abort = abort;
      // `1` for every channel, else one flag per channel (a channel without joinLeave needs no presence right).
      const flags = [...channels.keys()].map((c) => +this.#link.joinLeave(c));
      const joinLeave = flags.includes(1) ? (flags.includes(0) ? flags.join() : '1') : undefined;
      this.#asking = this.#link.polling.session === 'new' && !this.#sessionless;
      try {
        const format = this.#link.format;
        const answer = await request<PollAnswer>(
          this.#link,
          `/api/messages${query(channels.keys(), {
            since: known.size > 0 ? encodeCursor(known) : undefined,
            // Asking for a session: not held (a hub that hands none out answers at once too).
            wait: String(this.#asking ? 0 : this.#link.pollWait),
            // With deltas: the offset whose data the client holds, per channel (in the `channel` order).
            ...(this.#link.delta && { delta: '1', base: [...channels.keys()].map((c) => this.#link.held(c) ?? '').join() }),
            session: this.#link.polling.session,
            joinLeave,
            format: format && 'compact',
          })}`,
          { signal: abort.signal },
        );
        // No session: the next polls are held, and a new channel set must not wait for them.
        if (this.#asking && typeof answer.session !== 'string') this.#sessionless = true;
        this.#asking = false;
        if (typeof answer.session === 'string') this.#link.polling.session = answer.session;
        for (const gap of answer.gaps ?? []) this.#link.gap(gap);
        // A compact item names its channel by its index in the request, its epoch when it differs from `since`'s.
        const read = format?.reader([...channels.keys()], known);
        this.#deliver((read ? answer.messages.map(read) : answer.messages) as Envelope[], answer.presence ?? []);
      } catch (error) {
        this.#asking = false;
        if (abort.signal.aborted) continue;
        // One channel refused (its rights changed, or it resumes from a position it may not): the others poll on.
        if (this.#drop(error, channels.keys())) continue;
        // An expired token is a 4100 (refresh, then reconnect); a refused one a 4501 (stop); a
        // session ended by the backend (POST /api/disconnect) a 4502 (stop), as on SSE.
        const code = (error as { code?: unknown }).code;
        if (!this.#closed)
          this.#link.lost(
            code === ErrorCode.TokenExpired
              ? CloseCode.TokenExpired
              : code === ErrorCode.Unauthorized
                ? CloseCode.Unauthorized
                : code === ErrorCode.Disconnected
                  ? CloseCode.Disconnected
                  : 1006,
            (error as Error).message,
          );
        return;
      }
    }
  }
}
