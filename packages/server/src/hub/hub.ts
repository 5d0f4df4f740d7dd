import { createHash } from 'node:crypto';
import {
  checkChannelName,
  checkIdempotencyKey,
  ErrorCode,
  MAX_HISTORY_LIMIT,
  type Gap,
  type Position,
  type PresenceMember,
  type PublishResult,
} from '@herald/protocol';
import { namespaceOf } from '../auth/permissions.js';
import type { Broker, PresenceEvent, PresenceStore } from '../engine/broker.js';
import { HeraldError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { timerMs } from '../timer-delay.js';
import { ChannelState, type MessageListener } from './channel-state.js';
import { afterGap, computeGap, isUnverified, unverifiedGap } from './compute-gap.js';
import { HubMessage } from './hub-message.js';
import { NO_OBSERVER, type HubObserver } from './hub-observer.js';
import { LiveRepair } from './live-repair.js';
import type { Subscriber } from './subscriber.js';
import type { WebhookSink } from '../webhooks/webhook-sink.js';
import { DEFAULT_PRESENCE_DEBOUNCE, PresenceWebhooks } from '../webhooks/presence-webhooks.js';
import { Subscription } from './subscription.js';

/** Options of {@link Hub}. */
export interface HubOptions {
  readonly broker: Broker;
  readonly presence: PresenceStore;
  /** @default a silent logger */
  readonly logger?: Logger;
  /**
   * How often (ms) the hub compares each active channel's position with the last live message it
   * delivered, to find messages the engine's live path dropped at the tail of a quiet channel.
   * 0 disables the check. @default 5000
   */
  readonly positionCheckInterval?: number;
  /** Seconds an idempotency key is remembered per channel. @default 300 */
  readonly idempotencyTtl?: number;
  /** Told of publishes, dispatches and repairs (metrics). @default nothing */
  readonly observer?: HubObserver;
  /** Where webhook events go (presence, channels, client publishes, closed connections). @default none */
  readonly webhooks?: WebhookSink;
  /**
   * Milliseconds a user's last leave of a channel (and a channel's vacate) waits before its
   * webhook event is sent: a return within it (on any node) sends neither the leave nor a join.
   * 0 sends them at once. @default 5000
   */
  readonly presenceDebounce?: number;
  /**
   * Namespaces whose channels send deltas (`''`: channels without a namespace): each live message
   * keeps the one before it, so a subscriber that asked for deltas and received that one gets the
   * message as a delta against it (see `messageDelta`). @default none
   */
  readonly deltaNamespaces?: readonly string[];
}

/** SHA-256, base64url (43 characters). */
const digest = (text: string): string => createHash('sha256').update(text).digest('base64url');

/** Options of {@link Hub.publish}. */
export interface PublishCallOptions {
  /**
   * The publisher's key for this message: publishing again with the same key on the same channel
   * within `idempotencyTtl` stores nothing and answers the first position (`duplicate: true`).
   */
  readonly idempotencyKey?: string | undefined;
  /** Who publishes (see `idempotencyScope`): keys of different publishers never collide. */
  readonly idempotencyScope?: string | undefined;
  /**
   * A client (not a backend with the API key, not an admin) publishes: a stored message (not a
   * duplicate) is a `client_publish` webhook event naming it. `client`: its session, or a request id.
   */
  readonly publisher?: { readonly client: string; readonly user: string | null } | undefined;
  /**
   * What `idempotencyKey` is bound to when that is not the data stored: the data the client sent,
   * when a publish hook replaced it. A retry with the key must send the same; the replacement may
   * differ from one call of the hook to the next. @default the data published
   */
  readonly idempotencyData?: unknown;
}

/** Longest {@link Hub.close} waits for the `leave` of its members to reach the engine (ms). */
const CLOSE_LEAVE_TIMEOUT = 2000;

/** A listener for control messages from other nodes. */
export type ControlListener = (payload: string) => void;

export type { MessageListener } from './channel-state.js';

/** The result of reading one channel's log from a position. */
export interface ReadOutcome {
  readonly channel: string;
  readonly messages: HubMessage[];
  /** Where a reader stands after these messages (pass it back as `since`). */
  readonly position: Position;
  readonly gap?: Gap;
  /** True when `limit` cut the read short. */
  readonly more: boolean;
}

/** What {@link Hub.subscribe} resolves to; call `start()` once the reply is on its way. */
export interface SubscribeOutcome {
  readonly subscription: Subscription;
  /**
   * Where the subscription starts: `since` when it can be resumed from, the gap's `resumed` position
   * when not, the end of the log without `since`. Messages after it follow.
   */
  readonly position: Position;
  /** Delivers the gap and replay (if `since` was given), then goes live. */
  start(): void;
}

/**
 * The hub core: channels, subscriptions, presence and reads, over a {@link Broker} and a
 * {@link PresenceStore}. Knows no sockets and no HTTP; transports call it.
 *
 * Per channel, every subscriber receives messages in offset order with no duplicates; a hole on the
 * live path is repaired from the log, and reported as a gap only when the log no longer has it.
 */
export class Hub {
  readonly #broker: Broker;
  readonly #presence: PresenceStore;
  readonly #logger: Logger;
  readonly #channels = new Map<string, ChannelState>();
  readonly #releasing = new Map<string, Promise<void>>();
  readonly #positionCheck: NodeJS.Timeout | undefined;
  readonly #controlListeners = new Set<ControlListener>();
  readonly #idempotencyTtl: number;
  readonly #liveRepair: LiveRepair;
  readonly #observer: HubObserver;
  /** The subscriptions whose member several nodes may hold (`held`, see {@link Hub.subscribe}). */
  readonly #held = new WeakSet<Subscription>();
  /** The presence info of the subscriptions that have any (most have none: no slot in every subscription). */
  readonly #infos = new WeakMap<Subscription, unknown>();
  /** Where webhook events go, when configured (transports emit `connection_closed` here too). */
  readonly webhooks: WebhookSink | undefined;
  /** The presence and channel webhook events, when wanted (members are then added and removed through it). */
  readonly #presenceWebhooks: PresenceWebhooks | undefined;
  readonly #deltaNamespaces: ReadonlySet<string>;
  #checking = false;
  #closed = false;

  constructor(options: HubOptions) {
    this.#broker = options.broker;
    this.#presence = options.presence;
    this.#logger = options.logger ?? silentLogger;
    this.#observer = options.observer ?? NO_OBSERVER;
    this.webhooks = options.webhooks;
    const debounce = timerMs('presenceDebounce', options.presenceDebounce, DEFAULT_PRESENCE_DEBOUNCE, 0);
    this.#presenceWebhooks = PresenceWebhooks.create(this.#presence, this.webhooks, debounce, this.#logger);
    this.#liveRepair = new LiveRepair({ broker: this.#broker, channels: this.#channels, logger: this.#logger, observer: this.#observer });
    const liveRepair = this.#liveRepair;
    this.#broker.setHandler({
      onMessage: (message) => liveRepair.onBrokerMessage(message),
      onPresenceEvent: (event) => this.#onPresenceEvent(event),
      onLiveReset: () => void this.checkPositions(true),
      onControl: (payload) => {
        for (const listener of this.#controlListeners) listener(payload);
      },
    });
    this.#deltaNamespaces = new Set(options.deltaNamespaces ?? []);
    this.#idempotencyTtl = options.idempotencyTtl ?? 300;
    if (!Number.isFinite(this.#idempotencyTtl) || this.#idempotencyTtl <= 0)
      throw new RangeError('idempotencyTtl must be a number of seconds > 0');
    const interval = timerMs('positionCheckInterval', options.positionCheckInterval, 5000, 0);
    if (interval > 0) {
      this.#positionCheck = setInterval(() => {
        // One periodic check at a time: a slow engine must not pile them up.
        if (this.#checking || this.#broker.isAvailable?.() === false) return;
        this.#checking = true;
        void this.checkPositions().finally(() => (this.#checking = false));
      }, interval);
      this.#positionCheck.unref();
    }
  }

  /** Whether `channel`'s namespace sends deltas (see `HubOptions.deltaNamespaces`). */
  deltaFor(channel: string): boolean {
    return this.#deltaNamespaces.size > 0 && this.#deltaNamespaces.has(namespaceOf(channel));
  }

  /**
   * The live message of `channel` at `message`'s position with the same stored JSON, when the hub
   * still holds it (the last two live messages of a delta channel): its encodings, and its delta,
   * are built once and shared (a poll answers from a read of the log, not from the live message).
   */
  liveMessage(message: HubMessage): HubMessage | undefined {
    const live = this.liveAt(message.channel, message);
    return live?.json === message.json ? live : undefined;
  }

  /** The live message of `channel` at `position`, when the hub still holds it (see {@link Hub.liveMessage}). */
  liveAt(channel: string, position: Position): HubMessage | undefined {
    const last = this.#channels.get(channel)?.last;
    if (!(last instanceof HubMessage)) return undefined;
    const live = last.offset === position.offset ? last : last.base;
    return live !== undefined && live.offset === position.offset && live.epoch === position.epoch ? live : undefined;
  }

  /** Number of channels with at least one local subscription or listener. */
  get activeChannels(): number {
    return this.#channels.size;
  }

  /**
   * This node's active channels (see {@link Hub.activeChannels}): each with its subscriptions
   * (WebSocket sessions and SSE streams) and its listeners (long polls held), in no set order.
   */
  *localChannels(): IterableIterator<{ channel: string; subscriptions: number; listeners: number }> {
    for (const [channel, state] of this.#channels)
      yield { channel, subscriptions: state.subscriptions.size, listeners: state.listeners.size };
  }

  /**
   * Appends `data` (any JSON-serialisable value) to the channel's log. Resolves once the engine has
   * stored it, with its position.
   */
  async publish(channel: string, data: unknown, options: PublishCallOptions = {}): Promise<PublishResult> {
    checkChannel(channel);
    let dataJson: string | undefined;
    try {
      dataJson = JSON.stringify(data);
    } catch {
      throw new HeraldError(ErrorCode.InvalidField, 'data must be a JSON value');
    }
    if (dataJson === undefined) throw new HeraldError(ErrorCode.InvalidField, 'data must be a JSON value');
    // Serialised only when a key will use it: JSON of the data the client sent (see `idempotencyData`).
    const keyedJson =
      options.idempotencyData === undefined || options.idempotencyKey === undefined ? dataJson : JSON.stringify(options.idempotencyData);
    return this.#publishJson(channel, dataJson, options, keyedJson);
  }

  /** Like {@link Hub.publish} with `data` already serialised as JSON text (not re-checked; the channel name is). */
  async publishJson(channel: string, dataJson: string, options: PublishCallOptions = {}): Promise<PublishResult> {
    checkChannel(channel);
    return this.#publishJson(channel, dataJson, options, dataJson);
  }

  /** `keyedJson`: the JSON the idempotency key's fingerprint is taken of (see `idempotencyData`). */
  async #publishJson(channel: string, dataJson: string, options: PublishCallOptions, keyedJson: string): Promise<PublishResult> {
    this.#assertOpen();
    const key = options.idempotencyKey;
    if (key === undefined) {
      const message = await this.#engineCall(() => this.#broker.publish(channel, dataJson));
      this.#observer.published(false);
      await this.#clientPublished(options, channel, dataJson, message);
      return { channel, epoch: message.epoch, offset: message.offset };
    }
    const checked = checkIdempotencyKey(key);
    if (!checked.ok) throw HeraldError.fromWire(checked.error);
    // Keys are the publisher's own: another publisher's key never suppresses this message.
    const scoped = digest(`${options.idempotencyScope ?? ''}\n${key}`);
    const fingerprint = digest(keyedJson).slice(0, 22);
    const outcome = await this.#engineCall(() =>
      this.#broker.publish(channel, dataJson, { idempotencyKey: scoped, idempotencyTtl: this.#idempotencyTtl, fingerprint }),
    );
    if (!('duplicate' in outcome)) {
      this.#observer.published(false);
      await this.#clientPublished(options, channel, dataJson, outcome);
      return { channel, epoch: outcome.epoch, offset: outcome.offset };
    }
    if (outcome.fingerprint !== fingerprint) {
      throw new HeraldError(ErrorCode.InvalidField, 'idempotencyKey was already used for different data on this channel');
    }
    this.#observer.published(true);
    return { channel, epoch: outcome.epoch, offset: outcome.offset, duplicate: true };
  }

  /**
   * A client's message was stored: the `client_publish` webhook event, when wanted. Resolves once
   * the event is stored in the queue, so the publish is acknowledged only after it (a node killed
   * after the ack cannot lose the event), or after the dispatcher's bound on that wait (2 s: the
   * event stays buffered and retried, counted `late`). A failure to store does not fail the publish (the message
   * is stored): the sink logs and counts it (`dropped`).
   */
  async #clientPublished(options: PublishCallOptions, channel: string, dataJson: string, stored: Position): Promise<void> {
    const { publisher } = options;
    const sink = this.webhooks;
    if (publisher === undefined || sink === undefined || !sink.wants('client_publish')) return;
    const { epoch, offset } = stored;
    await sink.emit({ type: 'client_publish', channel, ...publisher, data: JSON.parse(dataJson) as unknown, epoch, offset });
  }

  /**
   * Reads a channel's retained log: after `since` when given (with a gap when `since` cannot be
   * resumed from), else from the oldest retained message; oldest first, at most `limit`. `signed`:
   * the reader may not read the channel's history, so a gap from another epoch or from ahead of the
   * log resumes at the current end (see `computeGap`).
   */
  async read(
    channel: string,
    since?: Position,
    limit: number = MAX_HISTORY_LIMIT,
    options: { signed?: boolean } = {},
  ): Promise<ReadOutcome> {
    checkChannel(channel);
    this.#assertOpen();
    if (since !== undefined && isUnverified(since)) {
      const top = await this.#engineCall(() => this.#broker.position(channel));
      const gap = unverifiedGap(channel, since, top);
      return { channel, messages: [], position: gap.resumed, more: false, gap };
    }
    const result = await this.#engineCall(() => this.#broker.read(channel, { since, limit: limit + 1 }));
    const gap = since === undefined ? undefined : computeGap(channel, since, result, options.signed === true);
    const after = afterGap(result.messages, gap);
    const more = after.length > limit;
    const stored = more ? after.slice(0, limit) : after;
    const messages = stored.map((m) => new HubMessage(m));
    const last = messages.at(-1);
    let position: Position;
    if (last !== undefined) position = { epoch: last.epoch, offset: last.offset };
    else if (gap !== undefined) position = gap.resumed;
    else if (since !== undefined) position = since;
    else position = { epoch: result.position.epoch, offset: result.oldest - 1 };
    return { channel, messages, position, more, ...(gap && { gap }) };
  }

  /**
   * The channel's current position, and its last messages (at most `max`, oldest first) stored at
   * or after `from` (ms, the engine's clock): where a subscription that began at `from` starts.
   */
  async recent(channel: string, from: number, max: number): Promise<{ position: Position; messages: HubMessage[] }> {
    checkChannel(channel);
    this.#assertOpen();
    const top = await this.#engineCall(() => this.#broker.position(channel));
    if (top.offset === 0) return { position: top, messages: [] };
    const since = { epoch: top.epoch, offset: Math.max(0, top.offset - max) };
    const result = await this.#engineCall(() => this.#broker.read(channel, { since, limit: max }));
    const messages = result.messages.filter((m) => m.epoch === result.position.epoch && m.time >= from).map((m) => new HubMessage(m));
    // What was read, not the end of the log at read time: a message beyond `limit` comes after it.
    const last = result.messages.at(-1);
    const position = last !== undefined && last.epoch === result.position.epoch ? { epoch: last.epoch, offset: last.offset } : top;
    return { position, messages };
  }

  /** The channel's current position (epoch and last offset). */
  async position(channel: string): Promise<Position> {
    checkChannel(channel);
    this.#assertOpen();
    return this.#engineCall(() => this.#broker.position(channel));
  }

  /** The members subscribed to a channel. */
  async presence(channel: string): Promise<PresenceMember[]> {
    checkChannel(channel);
    this.#assertOpen();
    return this.#engineCall(() => this.#presence.list(channel));
  }

  /**
   * The channels whose name starts with `prefix` with at least one member (every subscription is
   * one) on any node; undefined when the presence store cannot list channels (see
   * `PresenceStore.channels`).
   */
  async occupiedChannels(prefix: string): Promise<string[] | undefined> {
    this.#assertOpen();
    const store = this.#presence;
    if (store.channels === undefined) return undefined;
    return this.#engineCall(() => store.channels!(prefix));
  }

  /**
   * Subscribes `subscriber` to `channel`. With `since`, the retained messages after it are replayed
   * when `start()` is called (after a gap when `since` cannot be resumed from); live messages that
   * arrive meanwhile are held and delivered after the replay, without duplicates. `signed` is passed
   * to the subscriber with every message (see `Subscriber.message`); `info` (any JSON) goes onto the
   * subscriber's presence member and its join and leave events. `delta`: the subscriber applies
   * deltas; on a channel of a delta namespace (see {@link Hub.deltaFor}) it is told which messages
   * it may receive as one. `held`: the member may be held by several nodes at once (a polling
   * session, see `PresenceStore.hold`): its join is announced only by the first node to hold it, and
   * its leave only by the last to let it go. The caller checks permissions.
   */
  async subscribe(
    subscriber: Subscriber,
    channel: string,
    options: { since?: Position | undefined; joinLeave?: boolean; signed?: boolean; info?: unknown; delta?: boolean; held?: boolean } = {},
  ): Promise<SubscribeOutcome> {
    checkChannel(channel);
    this.#assertOpen();
    const subscription = new Subscription(
      channel,
      subscriber,
      options.joinLeave === true,
      options.signed === true,
      options.delta === true && this.deltaFor(channel),
    );
    const state = this.#acquire(channel);
    state.subscriptions.add(subscription);
    if (subscription.joinLeave) state.joinLeave++;
    try {
      await state.ready;
      let position: Position;
      let gap: Gap | undefined;
      let replay: HubMessage[] = [];
      const { since } = options;
      if (since === undefined) {
        position = await this.#engineCall(() => this.#broker.position(channel));
      } else if (isUnverified(since)) {
        position = await this.#engineCall(() => this.#broker.position(channel));
        gap = unverifiedGap(channel, since, position);
      } else {
        const result = await this.#engineCall(() => this.#broker.read(channel, { since }));
        position = result.position;
        gap = computeGap(channel, since, result, subscription.signed);
        replay = afterGap(result.messages, gap).map((m) => new HubMessage(m));
      }
      const { info } = options;
      const member: PresenceMember =
        info === undefined
          ? { client: subscriber.client, user: subscriber.user }
          : { client: subscriber.client, user: subscriber.user, info };
      if (info !== undefined) this.#infos.set(subscription, info);
      const hold = options.held === true ? this.#presence.hold?.bind(this.#presence) : undefined;
      let first = true;
      try {
        // Held before added: a node letting go meanwhile sees this hold and leaves the member be.
        if (hold !== undefined) first = await this.#engineCall(() => hold(channel, member.client));
        await this.#engineCall(() => this.#addMember(channel, member));
      } catch (error) {
        // The add may still land late (a timed-out call runs when the engine wakes): undo it.
        this.#dropMember(channel, member, hold !== undefined).catch(() => undefined);
        throw error;
      }
      if (hold !== undefined) this.#held.add(subscription);
      if (subscription.closed) {
        await this.#dropMember(channel, member, hold !== undefined);
        throw new HeraldError(ErrorCode.NotSubscribed, 'subscription was cancelled');
      }
      const startOffset = gap === undefined && since !== undefined ? since.offset : position.offset;
      // Where the subscription starts: what a client may resume from even before the replay arrives.
      const start = gap?.resumed ?? (since !== undefined ? since : position);
      return {
        subscription,
        position: { epoch: start.epoch, offset: start.offset },
        start: () => {
          subscription.start(position.epoch, startOffset, gap, replay);
          // A member another node holds already joined there.
          if (!first) return;
          // Announced only now, so the session's own reply and replay come before its join.
          this.#broker
            .publishPresenceEvent({ type: 'join', channel, ...member })
            .catch((error: unknown) => this.#logger.warn({ err: error, channel }, 'join event not sent'));
        },
      };
    } catch (error) {
      this.#detach(subscription, state);
      throw error;
    }
  }

  /** Turns a subscription's join and leave pushes on or off (a polling session that asks for them later). */
  setJoinLeave(subscription: Subscription, joinLeave: boolean): void {
    if (subscription.joinLeave === joinLeave || subscription.closed) return;
    const state = this.#channels.get(subscription.channel);
    if (state === undefined || !state.subscriptions.has(subscription)) return;
    subscription.joinLeave = joinLeave;
    state.joinLeave += joinLeave ? 1 : -1;
  }

  /** Ends a subscription; its subscriber receives nothing more for the channel. */
  unsubscribe(subscription: Subscription): void {
    if (subscription.closed) return;
    const state = this.#channels.get(subscription.channel);
    if (state === undefined || !state.subscriptions.has(subscription)) {
      subscription.closed = true;
      return;
    }
    this.#detach(subscription, state);
    void this.#leave(subscription);
  }

  /**
   * Calls `listener` for every live message on `channels` until the returned function is called.
   * Resolves once live delivery is in place, so a read made afterwards cannot miss a message.
   */
  async listen(channels: readonly string[], listener: MessageListener): Promise<() => void> {
    this.#assertOpen();
    const states = channels.map((channel) => {
      checkChannel(channel);
      const state = this.#acquire(channel);
      state.listeners.add(listener);
      return [channel, state] as const;
    });
    const stop = (): void => {
      for (const [channel, state] of states) {
        state.listeners.delete(listener);
        this.#releaseIfIdle(channel, state);
      }
    };
    try {
      await Promise.all(states.map(([, state]) => state.ready));
    } catch (error) {
      stop();
      throw error;
    }
    return stop;
  }

  /**
   * Compares active channels' positions in the engine with the last message delivered live, and
   * fetches from the log what the live path missed. Periodically only channels that received nothing
   * since the previous check (a busy channel's next message reveals a hole); every channel when the
   * engine reports that its live path reconnected (`all`). Resolves once every check has finished.
   */
  async checkPositions(all = false): Promise<void> {
    if (this.#closed) return;
    return this.#liveRepair.checkPositions(all);
  }

  /** Whether other nodes share this hub's engine (then {@link Hub.broadcast} reaches them). */
  get clustered(): boolean {
    return this.#broker.publishControl !== undefined;
  }

  /** Sends a control message to every other node; resolves once the engine took it (no-op on one node). */
  async broadcast(payload: string): Promise<void> {
    this.#assertOpen();
    const send = this.#broker.publishControl?.bind(this.#broker);
    if (send !== undefined) await this.#engineCall(() => send(payload));
  }

  /** Calls `listener` with every control message from other nodes until the returned function is called. */
  onControl(listener: ControlListener): () => void {
    this.#controlListeners.add(listener);
    return () => this.#controlListeners.delete(listener);
  }

  /** Stops accepting work. Existing subscriptions receive nothing more. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#positionCheck);
    this.#liveRepair.close();
    const leaving: Promise<void>[] = [];
    for (const state of this.#channels.values()) {
      for (const subscription of state.subscriptions) {
        // Members whose join was announced leave like any disconnect: other nodes see a `leave`.
        if (subscription.live) leaving.push(this.#leave(subscription));
        subscription.closed = true;
      }
    }
    this.#channels.clear();
    // Bounded: an unreachable engine must not hold the shutdown (its members expire there anyway).
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_LEAVE_TIMEOUT)));
    // Then the pending webhook leaves (and vacates) are sent at once: a closing node owes them.
    const settled = Promise.allSettled(leaving).then(() => this.#presenceWebhooks?.close());
    await Promise.race([settled, deadline]);
    clearTimeout(timer);
    await Promise.allSettled(this.#releasing.values());
  }

  async #leave(subscription: Subscription): Promise<void> {
    const { channel, subscriber } = subscription;
    const info = this.#infos.get(subscription);
    try {
      // A member another node still holds stays, and has not left.
      if (!(await this.#dropMember(channel, { client: subscriber.client, user: subscriber.user }, this.#held.has(subscription)))) return;
      await this.#broker.publishPresenceEvent(
        info === undefined
          ? { type: 'leave', channel, client: subscriber.client, user: subscriber.user }
          : { type: 'leave', channel, client: subscriber.client, user: subscriber.user, info },
      );
    } catch (error) {
      this.#logger.warn({ err: error, channel }, 'leave not recorded');
    }
  }

  /** Adds a presence member, through the webhook events' counting when they are wanted. */
  #addMember(channel: string, member: PresenceMember): Promise<void> {
    return this.#presenceWebhooks?.add(channel, member) ?? this.#presence.add(channel, member);
  }

  /**
   * Lets go of a presence member: ends this node's hold when `held` (see `PresenceStore.hold`), and
   * removes the member when no other node holds it. Resolves whether it was removed (it left).
   */
  async #dropMember(channel: string, member: PresenceMember, held: boolean): Promise<boolean> {
    const release = held ? this.#presence.release?.bind(this.#presence) : undefined;
    if (release !== undefined && !(await release(channel, member.client))) return false;
    await this.#removeMember(channel, member);
    return true;
  }

  /** Removes a presence member (see {@link Hub.#addMember}). */
  #removeMember(channel: string, member: PresenceMember): Promise<void> {
    return this.#presenceWebhooks?.remove(channel, member) ?? this.#presence.remove(channel, member.client);
  }

  #acquire(channel: string): ChannelState {
    let state = this.#channels.get(channel);
    if (state === undefined) {
      const previous = this.#releasing.get(channel) ?? Promise.resolve();
      const ready = previous.then(async () => {
        await this.#engineCall(() => this.#broker.subscribe(channel));
        // Knowing the end of the log from the start lets the first live hole be repaired too.
        const top = await this.#engineCall(() => this.#broker.position(channel));
        created.top ??= top;
        if (created.delta) await this.#seedBase(created, channel, top);
      });
      const created = new ChannelState(ready, this.deltaFor(channel));
      state = created;
      // A failed subscribe is reported to whoever awaits `ready`; the state is dropped when they detach.
      ready.catch(() => undefined);
      this.#channels.set(channel, state);
    }
    return state;
  }

  /**
   * A delta channel starts with its last stored message as the base of the next one, so the first
   * live message can go as a delta too (a channel that only polls use is taken and released with
   * each poll). Best effort: without it that message goes in full.
   */
  async #seedBase(state: ChannelState, channel: string, top: Position): Promise<void> {
    if (top.offset === 0) return;
    try {
      const { messages } = await this.#broker.read(channel, { since: { epoch: top.epoch, offset: top.offset - 1 }, limit: 1 });
      const last = messages[0];
      if (state.last === undefined && last !== undefined && last.epoch === top.epoch && last.offset === top.offset)
        state.last = new HubMessage(last);
    } catch (error) {
      this.#logger.debug({ err: error, channel }, 'delta base not read');
    }
  }

  #detach(subscription: Subscription, state: ChannelState): void {
    subscription.closed = true;
    if (state.subscriptions.delete(subscription) && subscription.joinLeave) state.joinLeave--;
    this.#releaseIfIdle(subscription.channel, state);
  }

  #releaseIfIdle(channel: string, state: ChannelState): void {
    if (!state.idle || this.#channels.get(channel) !== state) return;
    this.#channels.delete(channel);
    const released = state.ready
      .then(() => this.#broker.unsubscribe(channel))
      .catch((error: unknown) => this.#logger.warn({ err: error, channel }, 'broker unsubscribe failed'))
      .finally(() => {
        if (this.#releasing.get(channel) === released) this.#releasing.delete(channel);
      });
    this.#releasing.set(channel, released);
  }

  #onPresenceEvent(event: PresenceEvent): void {
    const state = this.#channels.get(event.channel);
    if (state === undefined || state.joinLeave === 0) return;
    const member: PresenceMember =
      event.info === undefined ? { client: event.client, user: event.user } : { client: event.client, user: event.user, info: event.info };
    for (const subscription of state.subscriptions) {
      if (subscription.joinLeave && subscription.live) subscription.subscriber.presence(event.type, event.channel, member);
    }
  }

  async #engineCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof HeraldError) throw error;
      this.#logger.error({ err: error }, 'engine call failed');
      throw new HeraldError(ErrorCode.Unavailable, 'the engine is unavailable', { cause: error });
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new HeraldError(ErrorCode.Unavailable, 'the hub is shutting down');
  }
}

function checkChannel(channel: string): void {
  const checked = checkChannelName(channel);
  if (!checked.ok) throw HeraldError.fromWire(checked.error);
}
