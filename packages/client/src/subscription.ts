import {
  encodePosition,
  isPosition,
  type CursorEntry,
  type Envelope,
  type Gap,
  type Position,
  type PresenceMember,
  type PublishResult,
} from '@herald/protocol';
import { Emitter } from './emitter.js';
import { handedOut } from './handed-out.js';
import type { HeraldClientError } from './errors.js';
import type { HistoryPage, PresenceChange, PublishOptions, Since } from './types.js';

/** State of one subscription. */
export type SubscriptionState = 'subscribing' | 'subscribed' | 'unsubscribed';

/** Events of a {@link Subscription}. */
export type SubscriptionEvents<T> = {
  message: [Envelope<T>];
  gap: [Gap];
  error: [HeraldClientError];
  state: [SubscriptionState];
  presence: [PresenceChange];
  /**
   * Joins or leaves of the channel were lost (a polling client fell too far behind): read the
   * member list again with `presence()`. Only with `joinLeave`.
   */
  presenceResync: [];
};

/** What a subscription needs from its client. */
export interface SubscriptionHost {
  publish(channel: string, data: unknown, idempotencyKey?: string): Promise<PublishResult>;
  history(channel: string, since: Since | undefined, limit: number | undefined): Promise<HistoryPage<unknown>>;
  presence(channel: string): Promise<PresenceMember[]>;
  remove(subscription: Subscription): void;
  /** Queues an ack of the channel up to `position` (coalesced, see `ClientOptions.ackInterval`). */
  ack(channel: string, position: Position): void;
}

/**
 * How a subscription acknowledges what it processed (see `docs/client.md`, "Acknowledgements"):
 * `'auto'` acks each message once every `message` handler returned without throwing (or the
 * promise it returned resolved) and every earlier message was acked; an iterator's message once
 * the next one is asked for. `'manual'`: only {@link Subscription.ack}.
 */
export type AckMode = 'auto' | 'manual';

/** Messages of an `ack: 'auto'` subscription whose handlers' promises may be unsettled at once; past it auto acks stop. */
const MAX_UNSETTLED = 10_000;

/** Options of `client.subscribe`. */
export interface SubscribeOptions {
  /** Start after this position (a cursor from any transport, or `{epoch, offset}` from an envelope). */
  readonly since?: Since | undefined;
  /** Also receive `presence` events (joins and leaves). @default false */
  readonly joinLeave?: boolean | undefined;
  /** Acknowledge processed messages to the hub (needs a token naming a user). @default off */
  readonly ack?: AckMode | undefined;
}

/**
 * A subscription to one channel. Messages arrive in offset order, each once: after a reconnect the
 * subscription resumes from its last position, and duplicates are dropped by offset. Anything that
 * cannot be resumed is reported as a `gap` event, never skipped silently.
 */
export class Subscription<T = unknown> extends Emitter<SubscriptionEvents<T>> {
  readonly channel: string;
  readonly joinLeave: boolean;
  /**
   * Position of the last message received or, before any, where the subscription started: the
   * `since` given, else the position the client pinned at `subscribe()` (set at the latest when
   * the state becomes `subscribed`); `undefined` until then. Resuming from it (see
   * {@link Subscription.cursor}) loses nothing published after it, even on a channel where no
   * message arrived. Signed by the hub when this client may not read the channel's history.
   */
  position: CursorEntry | undefined;
  state: SubscriptionState = 'subscribing';
  readonly ackMode: AckMode | undefined;
  readonly #host: SubscriptionHost;
  /** Auto acks: messages whose handlers have not settled yet, oldest first (async handlers only). */
  #inFlight: { envelope: Envelope<T>; ok: boolean | undefined }[] = [];
  /** Auto acks stopped: a handler threw for a message (a manual ack starts them again). */
  #ackBlocked = false;
  /** The envelope an iterator handed out last: acked when the next one is asked for. */
  #iterated: Envelope<T> | undefined;
  #queue: Envelope<T>[] = [];
  #waiting: ((result: IteratorResult<Envelope<T>>) => void) | undefined;
  #iterating = false;

  constructor(host: SubscriptionHost, channel: string, options: SubscribeOptions) {
    super();
    this.#host = host;
    this.channel = channel;
    this.joinLeave = options.joinLeave === true;
    if (options.ack !== undefined && options.ack !== 'auto' && options.ack !== 'manual')
      throw new TypeError('ack must be "auto" or "manual"');
    this.ackMode = options.ack;
    // The client resolves a cursor to this channel's position before it gets here.
    if (typeof options.since === 'object') this.position = options.since;
  }

  /**
   * A cursor for {@link Subscription.position}: save it and pass it back as `since` to resume
   * later, on any transport, even where the hub only accepts the positions it signed.
   */
  get cursor(): string | undefined {
    return this.position === undefined ? undefined : encodePosition(this.channel, this.position);
  }

  /** Publishes to this channel; resolves with the stored position once the hub acknowledged it. */
  publish(data: T, options: PublishOptions = {}): Promise<PublishResult> {
    return this.#host.publish(this.channel, data, options.idempotencyKey);
  }

  /** Reads the channel's retained messages (after `since`, at most `limit`). */
  history(options: { since?: Since; limit?: number } = {}): Promise<HistoryPage<T>> {
    return this.#host.history(this.channel, options.since, options.limit) as Promise<HistoryPage<T>>;
  }

  /** The channel's current members. */
  presence(): Promise<PresenceMember[]> {
    return this.#host.presence(this.channel);
  }

  /**
   * Acknowledges the channel's messages up to `message` (an envelope, or `{epoch, offset}`) to the
   * hub: sent coalesced, at most once per channel per `ackInterval`, the latest position winning.
   * The hub keeps each user's position (it never moves backwards within an epoch) for the app's
   * backend (`GET /api/acks`, the `client_ack` webhook). Restarts auto acks stopped by a throwing handler.
   */
  ack(message: Position | Envelope<T>): void {
    const position = { epoch: message.epoch, offset: message.offset };
    if (!isPosition(position) || position.offset < 1) throw new TypeError('ack needs {epoch, offset >= 1}');
    this.#ackBlocked = false;
    this.#inFlight = [];
    this.#host.ack(this.channel, position);
  }

  /** Stops the subscription; async iteration ends. */
  unsubscribe(): void {
    if (this.state === 'unsubscribed') return;
    this.setState('unsubscribed');
    this.#host.remove(this as Subscription);
    this.#waiting?.({ done: true, value: undefined });
    this.#waiting = undefined;
  }

  /** Iterates over messages as they arrive, until `unsubscribe()`. */
  [Symbol.asyncIterator](): AsyncIterator<Envelope<T>> {
    this.#iterating = true;
    return {
      next: () => {
        // Asking for the next message means the previous one was processed.
        if (this.#iterated !== undefined && this.ackMode === 'auto' && !this.#ackBlocked) this.#host.ack(this.channel, this.#iterated);
        this.#iterated = undefined;
        const value = this.#queue.shift();
        if (value !== undefined) {
          this.#iterated = value;
          return Promise.resolve({ done: false, value });
        }
        if (this.state === 'unsubscribed') return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => (this.#waiting = resolve));
      },
      return: () => {
        this.unsubscribe();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  /** @internal Delivers an envelope unless it is a duplicate. */
  deliver(envelope: Envelope<T>): void {
    const at = this.position;
    if (this.state === 'unsubscribed' || (at !== undefined && at.epoch === envelope.epoch && envelope.offset <= at.offset)) return;
    this.position = handedOut(this.channel, envelope.cursor, envelope);
    const handled = this.emit('message', envelope);
    if (this.ackMode === 'auto')
      this.#handled(
        envelope,
        handled === false
          ? false
          : handled === undefined ||
              Promise.all(handled).then(
                () => true,
                () => false,
              ),
      );
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting !== undefined) {
      this.#iterated = envelope;
      waiting({ done: false, value: envelope });
    }
    // Only queue for an iterator in use, so handler-only subscriptions hold nothing.
    else if (this.#iterating) this.#queue.push(envelope);
  }

  /**
   * Auto acks: acks the message once its handlers succeeded and every earlier one was acked. A
   * subscription used only as an iterator has no handler: the iterator acks (see `next`).
   */
  #handled(envelope: Envelope<T>, outcome: boolean | Promise<boolean>): void {
    if (this.#ackBlocked || (this.#iterating && !this.hasListeners('message'))) return;
    if (typeof outcome === 'boolean' && this.#inFlight.length === 0) {
      if (outcome) this.#host.ack(this.channel, envelope);
      else this.#ackBlocked = true;
      return;
    }
    const entry: { envelope: Envelope<T>; ok: boolean | undefined } = { envelope, ok: undefined };
    const queue = this.#inFlight;
    // Handlers that never settle: stop auto acks rather than hold every later message.
    if (queue.push(entry) > MAX_UNSETTLED) {
      this.#ackBlocked = true;
      this.#inFlight = [];
      return;
    }
    const settle = (ok: boolean): void => {
      entry.ok = ok;
      // A manual ack since replaced the list: this one no longer counts.
      if (queue !== this.#inFlight || this.#ackBlocked) return;
      let last: Envelope<T> | undefined;
      while (queue[0]?.ok === true) last = queue.shift()!.envelope;
      if (queue[0]?.ok === false) {
        this.#ackBlocked = true;
        this.#inFlight = [];
      }
      if (last !== undefined) this.#host.ack(this.channel, last);
    };
    if (typeof outcome === 'boolean') settle(outcome);
    else void outcome.then(settle);
  }

  /** @internal */
  reportGap(gap: Gap): void {
    this.position = handedOut(this.channel, gap.cursor, gap.resumed);
    this.emit('gap', gap);
  }

  /** @internal Where the subscription started, unless a position is known already. */
  start(position: CursorEntry | undefined): void {
    this.position ??= position;
  }

  /** @internal */
  setState(state: SubscriptionState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }

  /** @internal */
  fail(error: HeraldClientError): void {
    this.emit('error', error);
  }

  /** @internal */
  presenceChange(change: PresenceChange): void {
    this.emit('presence', change);
  }

  /** @internal */
  presenceResync(): void {
    this.emit('presenceResync');
  }
}
