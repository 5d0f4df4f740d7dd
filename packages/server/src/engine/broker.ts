import type { Position, PresenceMember } from '@herald/protocol';

/**
 * One message as an engine stores and returns it. `json` is the complete envelope
 * (`{"type":"message","channel",...,"data"}`), serialised once when the message was published; every
 * transport writes it as is.
 */
export interface BrokerMessage {
  readonly channel: string;
  readonly epoch: string;
  readonly offset: number;
  /** Milliseconds since the Unix epoch, from the engine's clock when the message was stored. */
  readonly time: number;
  readonly json: string;
}

/** Options of an idempotent {@link Broker.publish}. */
export interface PublishOptions {
  /** The key of this message, scoped to its publisher by the hub (a digest: 1–64 URL-safe characters). */
  readonly idempotencyKey: string;
  /** Seconds the key is remembered, per channel. */
  readonly idempotencyTtl: number;
  /** A digest of the message's data, stored with the key and returned with a duplicate. */
  readonly fingerprint: string;
}

/**
 * What an idempotent publish resolves to when its key was used on the channel within the key's
 * lifetime: nothing was stored; the position is the first publish's.
 */
export interface DuplicatePublish {
  readonly duplicate: true;
  readonly channel: string;
  readonly epoch: string;
  readonly offset: number;
  /** The fingerprint stored with the key: another one means the key was reused for other data. */
  readonly fingerprint: string;
}

/** Options of {@link Broker.read}. */
export interface ReadOptions {
  /**
   * Return the messages after this position. When it is absent, of another epoch, older than the
   * retained window or beyond the end of the log, the read starts at the oldest retained message
   * instead (the hub turns that into a gap signal).
   */
  readonly since?: Position | undefined;
  /** Return at most this many messages (oldest first). @default no limit beyond the window */
  readonly limit?: number | undefined;
}

/** What {@link Broker.read} returns: a consistent snapshot of one channel's log. */
export interface ReadResult {
  readonly messages: readonly BrokerMessage[];
  /** The log's epoch and the offset of its last message (0 when nothing was ever published). */
  readonly position: Position;
  /** Offset of the oldest retained message; `position.offset + 1` when nothing is retained. */
  readonly oldest: number;
}

/** A presence change, fanned out through the broker so every node sees it. */
export interface PresenceEvent {
  readonly type: 'join' | 'leave';
  readonly channel: string;
  readonly client: string;
  readonly user: string | null;
  /** The member's info (see `PresenceMember.info`), when it has any. */
  readonly info?: unknown;
}

/** What a broker calls when a message or presence event arrives for a channel this node subscribed to. */
export interface BrokerHandler {
  onMessage(message: BrokerMessage): void;
  onPresenceEvent(event: PresenceEvent): void;
  /**
   * Live delivery may have dropped messages of any subscribed channel (the engine reconnected):
   * the hub checks every channel's position and repairs from the log.
   */
  onLiveReset?(): void;
  /** A control message another node sent with {@link Broker.publishControl}. */
  onControl?(payload: string): void;
}

/**
 * The log and live fan-out of channels: the one interface the hub needs from an engine. Every
 * implementation passes the contract suite in `@herald/testkit`.
 *
 * Guarantees: offsets of a channel grow by exactly 1 per published message within an epoch; a
 * publish resolves only after the message is stored; the handler receives a channel's messages in
 * offset order (live delivery may drop messages between nodes; the hub repairs from {@link read}).
 */
export interface Broker {
  /** Installs the node's handler. Called once, before any subscribe. */
  setHandler(handler: BrokerHandler): void;
  /** Appends `dataJson` (a JSON text) to the channel's log and fans it out. */
  publish(channel: string, dataJson: string): Promise<BrokerMessage>;
  /**
   * The same, unless `options.idempotencyKey` was used on the channel within `idempotencyTtl`
   * (by this node or another): then nothing is stored and the first publish's position returned.
   * Checking and storing the key are atomic with the append.
   */
  publish(channel: string, dataJson: string, options: PublishOptions): Promise<BrokerMessage | DuplicatePublish>;
  /** Reads the channel's retained log (see {@link ReadOptions.since}). */
  read(channel: string, options?: ReadOptions): Promise<ReadResult>;
  /** The channel's current position (epoch and last offset). */
  position(channel: string): Promise<Position>;
  /** Starts live delivery of the channel's messages and presence events to the handler. */
  subscribe(channel: string): Promise<void>;
  /** Stops live delivery of the channel to this node. */
  unsubscribe(channel: string): Promise<void>;
  /** Fans a presence event out to every node subscribed to its channel. */
  publishPresenceEvent(event: PresenceEvent): Promise<void>;
  /** Releases timers and connections. */
  close(): Promise<void>;
  /**
   * The channel's log lost acknowledged messages: this node saw `seen` in the log's current epoch,
   * beyond what the log now holds (e.g. Redis restarted from an AOF written every second, or failed
   * over). Starts a new epoch with an empty log, unless the epoch already changed, so offsets are
   * never reused within one epoch and clients get an explicit `epoch` gap. Engines that cannot lose
   * acknowledged messages omit it.
   */
  renewEpoch?(channel: string, seen: Position): Promise<void>;
  /**
   * Sends a control message (JSON text) to every other node sharing the engine, e.g. "disconnect
   * user u". Single-node engines omit it.
   */
  publishControl?(payload: string): Promise<void>;
  /**
   * Whether the engine can serve now (its connections are up); the node reports not ready while it
   * cannot. An engine without this method is always available.
   */
  isAvailable?(): boolean;
}

/** @deprecated The same type as `PresenceMember` of `@herald/protocol`: use that. */
export type PresenceEntry = PresenceMember;

/**
 * Members that a store dropped because their node stopped refreshing them (it died), found while
 * counting (see {@link PresenceStore.addCounting}): the hub emits their `presence_leave` and
 * `channel_vacated` webhook events.
 */
export interface PresenceExpiry {
  /** The users whose last member in the channel expired: user key and the client of that member. */
  readonly left: readonly { readonly userKey: string; readonly client: string }[];
  /** The expired members were the channel's last. */
  readonly vacated: boolean;
}

/** What {@link PresenceStore.addCounting} found, after its add. */
export interface PresenceAddCount {
  /** The client was not a counted member yet (false: a repeated add, which changes no count). */
  readonly added: boolean;
  /** The channel's counted members across nodes, this one included. */
  readonly channelMembers: number;
  /** The counted members of the same user key in the channel, this one included. */
  readonly userMembers: number;
  /** The add removed the user's pending-leave marker: its last member left within the debounce, so this is no join. */
  readonly userReturned: boolean;
  /** The add removed the channel's pending-vacate marker: this is no occupied. */
  readonly channelReturned: boolean;
  /** Members of dead nodes dropped before the add (engines whose members expire). */
  readonly expired?: PresenceExpiry;
}

/** What {@link PresenceStore.removeCounting} found, after its removal. */
export interface PresenceRemoveCount {
  /** The client was a counted member. */
  readonly removed: boolean;
  /** The channel's counted members left across nodes. */
  readonly channelMembers: number;
  /** The counted members of the user key left in the channel. */
  readonly userMembers: number;
  /** Members of dead nodes dropped before the removal. */
  readonly expired?: PresenceExpiry;
}

/** A pending-leave marker {@link PresenceStore.removeCounting} sets when a count reaches 0. */
export interface PresenceMarker {
  /** Unique per removal: only the node holding it may claim the marker. */
  readonly token: string;
  /** Milliseconds the marker lives unclaimed (longer than the debounce). */
  readonly ttl: number;
}

/** Who is subscribed to which channel, across all nodes. */
export interface PresenceStore {
  /** Records `entry` as a member of `channel` (idempotent per client). */
  add(channel: string, entry: PresenceMember): Promise<void>;
  /** Removes the client from `channel` (no-op when absent). */
  remove(channel: string, client: string): Promise<void>;
  /** The channel's members, in no promised order. */
  list(channel: string): Promise<PresenceMember[]>;
  /**
   * The channels whose name starts with `prefix` that have at least one member on any node, in no
   * promised order (the Pusher HTTP API's channel list). Optional: without it the hub cannot list
   * occupied channels.
   */
  channels?(prefix: string): Promise<string[]>;
  close(): Promise<void>;
  /**
   * Records that this node holds `client`'s membership of `channel`, for a member several nodes may
   * hold at once (a polling session whose polls reach several nodes). Call it before adding the
   * member; resolves whether no other live node held it (then its join is announced). A node's hold
   * lasts while it keeps it (re-stamped like its members) and ends with {@link release}, or
   * `memberTtl` after the node died. Absent (one node): every hold is the first.
   */
  hold?(channel: string, client: string): Promise<boolean>;
  /**
   * Ends this node's hold of `client`'s membership of `channel` (see {@link hold}); resolves whether
   * no other live node holds it. Then the caller removes the member and announces its leave; else the
   * member stays, kept alive by the other holders, and this node stops re-stamping it.
   */
  release?(channel: string, client: string): Promise<boolean>;
  /** Whether the store can serve now (see {@link Broker.isAvailable}); always when absent. */
  isAvailable?(): boolean;
  /**
   * {@link add}, and counts the member under `userKey` (the hub's key of one user, or of one
   * anonymous client), atomically across nodes: the counts after the add, and whether it removed a
   * pending-leave marker of the user or a pending-vacate marker of the channel (see
   * {@link removeCounting}). The webhook events `presence_join` and `channel_occupied` come from it.
   * Members added this way must be removed with {@link removeCounting}. Stores without it emit no
   * presence or channel events.
   */
  addCounting?(channel: string, entry: PresenceMember, userKey: string): Promise<PresenceAddCount>;
  /**
   * {@link remove}, and uncounts the member, atomically across nodes. With `marker`, a count that
   * reaches 0 leaves a marker holding `marker.token`: the user's (under `userKey`) or the channel's.
   * An {@link addCounting} on any node removes it (a return within the debounce); else the node that
   * set it claims it with {@link claimMarker} once the debounce is over and emits the event.
   */
  removeCounting?(channel: string, client: string, userKey: string, marker?: PresenceMarker): Promise<PresenceRemoveCount>;
  /**
   * Removes the user's (`userKey`) or, with `undefined`, the channel's marker if it still holds
   * `token`; resolves whether it did (then the leave or vacate stands and is sent). A store whose
   * markers are {@link sharedMarkers} also answers `true` to a repeated claim of the same token
   * within `holdMs` of the first (a node that claimed it died before recording the delivery attempt,
   * and another node claims it again).
   */
  claimMarker?(channel: string, userKey: string | undefined, token: string, holdMs?: number): Promise<boolean>;
  /**
   * Calls `listener` with the members of dead nodes this store dropped on its own (not during a
   * counting call): a store whose members expire sweeps the channels of dead nodes periodically, so
   * their leaves come even when the channel sees no other change. Set once, by the hub.
   */
  onExpired?(listener: (channel: string, expiry: PresenceExpiry) => void): void;
  /**
   * The markers live in an engine shared by the nodes and outlive this process (Redis): a closing
   * node leaves its pending leaves and vacates in the webhook queue, for whichever node claims them.
   * Absent or false (markers in this process: memory, SQLite): a closing node sends them at once.
   */
  readonly sharedMarkers?: boolean;
}

/**
 * Builds the envelope JSON for a stored message. Engines call it once per message; `dataJson` must
 * already be valid JSON text.
 */
export function serializeEnvelope(channel: string, epoch: string, offset: number, time: number, dataJson: string): string {
  return `{"type":"message","channel":${JSON.stringify(channel)},"offset":${offset},"epoch":${JSON.stringify(epoch)},"time":${time},"data":${dataJson}}`;
}

/**
 * The data of an envelope {@link serializeEnvelope} wrote, as its JSON text (the same bytes): the
 * envelope ends with `,"data":<data>}`, and nothing before it can hold that text (channel names and
 * epochs have no `"`).
 */
export function envelopeData(envelope: string): string {
  return envelope.slice(envelope.indexOf(',"data":') + 8, -1);
}
