/**
 * Redis key names of one Herald deployment. A channel's keys share the hash tag `{channel}`, so the
 * scripts that touch several of them stay on one slot of a Redis Cluster.
 *
 * On a cluster (`clustered`), two kinds of names differ from one server's: a channel's live pub/sub
 * channel carries the hash tag too (`<prefix>live:{<channel>}`, published with SPUBLISH on the
 * channel's shard), and the ticket keys share the hash tag `{tickets}` (one script checks a
 * holder's tickets and the store's total at once).
 */
export class Keys {
  readonly prefix: string;
  /** Pub/sub channels are `<prefix>live:<channel>` (`<prefix>live:{<channel>}` on a cluster); the part before the channel name. */
  readonly livePrefix: string;
  readonly clustered: boolean;
  readonly #tickets: string;

  constructor(prefix: string, clustered = false) {
    this.prefix = prefix;
    this.clustered = clustered;
    this.livePrefix = `${prefix}live:`;
    this.#tickets = clustered ? `${prefix}{tickets}:` : prefix;
  }

  /** Hash `{epoch, top}`: the channel's epoch and the offset of its last message. */
  meta(channel: string): string {
    return `${this.prefix}{${channel}}:meta`;
  }

  /** Stream of the retained messages; entry id `<offset>-0`, fields `t` (time) and `j` (envelope). */
  log(channel: string): string {
    return `${this.prefix}{${channel}}:log`;
  }

  /** String `<epoch> <offset> <expires ms>`: the first publish made with an idempotency key. */
  idempotency(channel: string, key: string): string {
    return `${this.prefix}{${channel}}:idem:${key}`;
  }

  /** Pub/sub channel carrying the channel's live messages and presence events to every node. */
  live(channel: string): string {
    return this.clustered ? `${this.livePrefix}{${channel}}` : this.livePrefix + channel;
  }

  /** The channel of a pub/sub channel name made by {@link live}, or `undefined` when it is none. */
  channelOfLive(name: string): string | undefined {
    if (!name.startsWith(this.livePrefix)) return undefined;
    if (!this.clustered) return name.slice(this.livePrefix.length);
    if (name[this.livePrefix.length] !== '{' || !name.endsWith('}')) return undefined;
    return name.slice(this.livePrefix.length + 1, -1);
  }

  /** Hash user → `<epoch> <offset> <time>`: the users' acknowledged positions on the channel. */
  acks(channel: string): string {
    return `${this.prefix}{${channel}}:acks`;
  }

  /** Sorted set user → time (ms) of the channel's acknowledgements (expiry, bound, listing order). */
  ackTimes(channel: string): string {
    return `${this.prefix}{${channel}}:acktimes`;
  }

  /** Hash client → member (JSON: the user, or `{"user", "info"}`) of the channel's members. */
  members(channel: string): string {
    return `${this.prefix}{${channel}}:members`;
  }

  /** Sorted set client → expiry time (ms) of the channel's members. */
  alive(channel: string): string {
    return `${this.prefix}{${channel}}:alive`;
  }

  /** Sorted set node id → expiry (ms) of its hold: the nodes holding the member `client` (see `RedisPresenceStore.hold`). */
  holders(channel: string, client: string): string {
    return `${this.prefix}{${channel}}:held:${client}`;
  }

  /** Hash client → user key of the channel's counted members (webhook presence events). */
  owners(channel: string): string {
    return `${this.prefix}{${channel}}:owners`;
  }

  /** Hash user key → number of the channel's counted members of that user. */
  userCounts(channel: string): string {
    return `${this.prefix}{${channel}}:users`;
  }

  /** String (token, with expiry): the user's last member left the channel; its leave is pending. */
  leaveMarker(channel: string, userKey: string): string {
    return `${this.prefix}{${channel}}:leaving:${userKey}`;
  }

  /** String (token, with expiry): the channel's last member left; its vacate is pending. */
  vacateMarker(channel: string): string {
    return `${this.prefix}{${channel}}:vacating`;
  }

  /**
   * String (token, with expiry): the last claim of the user's leave marker (or, with `undefined`,
   * the channel's vacate marker), so that a repeated claim of the same token succeeds.
   */
  markerClaim(channel: string, userKey: string | undefined): string {
    return userKey === undefined ? `${this.prefix}{${channel}}:claimed:vacating` : `${this.prefix}{${channel}}:claimed:leaving:${userKey}`;
  }

  /** Sorted set node id → its last refresh (ms) of the nodes with counted presence members. */
  get presenceNodes(): string {
    return `${this.prefix}presence:nodes`;
  }

  /**
   * Sorted set channel → the latest expiry (ms) of its members, per namespace (the channel's name up
   * to its first `:`, or `''`): the channels that may have members (see `RedisPresenceStore.channels`).
   */
  presenceChannels(namespace: string): string {
    return `${this.prefix}presence:channels:${namespace}`;
  }

  /** Set of the channels where one node has counted presence members (swept once the node is dead). */
  presenceNode(node: string): string {
    return `${this.prefix}presence:node:${node}`;
  }

  /** Pub/sub channel of control messages between nodes (e.g. disconnect a user everywhere). */
  get control(): string {
    return `${this.prefix}control`;
  }

  /** A single-use ticket (string key with expiry): the identity as JSON. */
  ticket(ticket: string): string {
    return `${this.#tickets}ticket:${ticket}`;
  }

  /** Sorted set ticket → expiry time (ms) of one holder's outstanding tickets. */
  ticketsOf(holder: string): string {
    return `${this.#tickets}tickets:held:${holder}`;
  }

  /** String: the time (ms) one request rate bucket is full again (see `RateLimitStore`). */
  requestRate(bucket: string): string {
    return `${this.prefix}rate:${bucket}`;
  }

  /** Hash `{tokens, at}`: one holder's ticket rate bucket. */
  ticketRate(holder: string): string {
    return `${this.#tickets}tickets:rate:${holder}`;
  }

  /** Sorted set ticket → expiry time (ms) of every outstanding ticket. */
  get tickets(): string {
    return `${this.#tickets}tickets:all`;
  }

  /**
   * The webhook queue's keys, under one hash tag: `due` (sorted set id → due time ms: the event's
   * time, a retry's time, or a lease's end), `events` (hash id → event JSON, queued and dead),
   * `state` (hash id → `{"attempts","lastError"}` after a failed attempt, or `{"attempts":0,"condition"}`
   * of an event added with a delivery condition until its first attempt), `dead` (sorted set id →
   * burial number), `deadInfo` (hash id → `{"attempts","lastError","diedAt"}`), `deadSeq` (the last
   * burial number), `lease` (hash id → the lease token of the claim holding it).
   */
  get webhooks(): { due: string; events: string; state: string; dead: string; deadInfo: string; deadSeq: string; lease: string } {
    const at = `${this.prefix}{webhooks}:`;
    return {
      due: `${at}due`,
      events: `${at}events`,
      state: `${at}state`,
      dead: `${at}dead`,
      deadInfo: `${at}dead-info`,
      deadSeq: `${at}dead-seq`,
      lease: `${at}lease`,
    };
  }
}
