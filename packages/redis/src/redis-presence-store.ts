import { randomUUID } from 'node:crypto';
import {
  deleteChannelClient,
  HeldMembers,
  silentLogger,
  systemClock,
  timerSeconds,
  type Clock,
  type Logger,
  type PresenceAddCount,
  type PresenceExpiry,
  type PresenceMarker,
  type PresenceRemoveCount,
  type PresenceStore,
} from '@herald/server';
import type { PresenceMember } from '@herald/protocol';
import { RedisLink, type Transaction } from './redis-link.js';
import { Keys } from './keys.js';
import {
  PRESENCE_ADD,
  PRESENCE_CLAIM_MARKER,
  PRESENCE_COUNT_ADD,
  PRESENCE_COUNT_REMOVE,
  PRESENCE_HOLD,
  PRESENCE_LIST,
  PRESENCE_RELEASE,
  PRESENCE_SWEEP,
} from './scripts.js';

/** Multiples of `memberTtl` a node may go without refreshing before its channels are swept (its members expired after 1). */
const DEAD_AFTER = 1.5;
/** Multiples of `memberTtl` the presence keys outlive their last refresh: past {@link DEAD_AFTER}, so a sweep still finds a dead node's members. */
const KEYS_OUTLIVE = 4;
/** Dead nodes swept per refresh, and channels read per `SSCAN` of one (bounds one sweep's work). */
const SWEEP_NODES = 10;
const SWEEP_CHUNK = 200;
/** How long (ms) a node's channel set outlives its last refresh, should no node ever sweep it. */
const NODE_SET_TTL = 86_400_000;

/** Options of {@link RedisPresenceStore.connect}. */
export interface RedisPresenceOptions {
  readonly url: string;
  /** @default "herald:" */
  readonly prefix?: string;
  /**
   * Seconds a member outlives its node: each node refreshes its members every third of this, so
   * the members of a node that died disappear within it. @default 30
   */
  readonly memberTtl?: number;
  readonly commandTimeout?: number;
  readonly connectTimeout?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/**
 * Presence across nodes: per channel, a hash of members and a sorted set of their expiry times.
 * Each node re-stamps the members it holds; a member whose node stopped doing so is dropped on the
 * next read.
 */
export class RedisPresenceStore implements PresenceStore {
  readonly #client: RedisLink;
  readonly #keys: Keys;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #ttl: number;
  /** The members this node added (each as stored, see {@link encodeMember}): re-stamped periodically, removed on close. */
  readonly #mine = new Map<string, Map<string, string>>();
  /**
   * Of those, the members counted for webhook events (per channel): their counts' keys are kept alive
   * with them, and on close they are left to expire, so that another node's sweep emits their leave.
   */
  readonly #counted = new Map<string, Set<string>>();
  /** The members this node holds (see {@link hold}), per channel: their holds are re-stamped with the members. */
  readonly #held = new HeldMembers([this.#mine, this.#counted]);
  readonly #refresh: NodeJS.Timeout;
  /** This store's id among the nodes with counted members (`presence:nodes`), unique per process. */
  readonly #node = randomUUID();
  #onExpired: ((channel: string, expiry: PresenceExpiry) => void) | undefined;
  #sweeping = false;
  #closed = false;

  private constructor(client: RedisLink, options: RedisPresenceOptions, ttl: number) {
    this.#client = client;
    this.#keys = new Keys(options.prefix ?? 'herald:');
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
    this.#ttl = ttl * 1000;
    this.#refresh = setInterval(() => void this.#restamp(), this.#ttl / 3);
    this.#refresh.unref();
  }

  static async connect(options: RedisPresenceOptions): Promise<RedisPresenceStore> {
    // Also a timer: members are re-stamped every third of it.
    const ttl = timerSeconds('memberTtl', options.memberTtl, 30, 1);
    const client = await RedisLink.open({ ...options, logger: options.logger ?? silentLogger }, 'presence');
    return new RedisPresenceStore(client, options, ttl);
  }

  /** Whether the store's connection to Redis is up (the node reports not ready otherwise). */
  isAvailable(): boolean {
    return !this.#closed && this.#client.isReady;
  }

  async add(channel: string, entry: PresenceMember): Promise<void> {
    const stored = encodeMember(entry);
    await this.#stamp(channel, [[entry.client, stored]]);
    // Re-stamped from now on only once stored: a failed add leaves nothing to refresh.
    let members = this.#mine.get(channel);
    if (members === undefined) {
      members = new Map();
      this.#mine.set(channel, members);
    }
    members.set(entry.client, stored);
  }

  async remove(channel: string, client: string): Promise<void> {
    deleteChannelClient(this.#mine, channel, client);
    const stored = this.#keys.members(channel);
    await this.#client.transaction([
      {
        key: stored,
        commands: [
          ['HDEL', stored, client],
          ['ZREM', this.#keys.alive(channel), client],
        ],
      },
    ]);
  }

  /**
   * Holds `client`'s membership of `channel` for this node, in a sorted set of its holders with the
   * expiry of each hold (re-stamped with this node's members, so a dead node's hold ends within
   * `memberTtl`). Resolves whether no other node held it.
   */
  async hold(channel: string, client: string): Promise<boolean> {
    return this.#held.hold(channel, client, async () => {
      const now = this.#clock.now();
      const first = await PRESENCE_HOLD.run(
        this.#client,
        [this.#keys.holders(channel, client)],
        [String(now), String(now + this.#ttl), this.#node, String(this.#ttl * KEYS_OUTLIVE)],
      );
      return first === 1;
    });
  }

  /**
   * Ends this node's hold (see {@link hold}); resolves whether no other node holds the member. When
   * one does, this node stops re-stamping the member (and its count), which stay for that node.
   */
  async release(channel: string, client: string): Promise<boolean> {
    return this.#held.release(
      channel,
      client,
      async () =>
        (await PRESENCE_RELEASE.run(this.#client, [this.#keys.holders(channel, client)], [String(this.#clock.now()), this.#node])) === 1,
    );
  }

  /**
   * Sweeps, on each refresh, the channels of nodes that stopped refreshing for 1.5 × `memberTtl`
   * (dead: their members expired), so their members' leaves come even when the channel sees no
   * other change; `listener` gets what each sweep dropped.
   */
  onExpired(listener: (channel: string, expiry: PresenceExpiry) => void): void {
    this.#onExpired = listener;
  }

  async addCounting(channel: string, entry: PresenceMember, userKey: string): Promise<PresenceAddCount> {
    await this.add(channel, entry);
    // Listed among this node's channels before it counts there: should it die, a sweep finds them.
    if (!this.#counted.has(channel)) await this.#register([channel]);
    const reply = (await PRESENCE_COUNT_ADD.run(
      this.#client,
      [...this.#countKeys(channel), this.#keys.leaveMarker(channel, userKey), this.#keys.vacateMarker(channel)],
      [String(this.#clock.now()), String(this.#ttl * KEYS_OUTLIVE), entry.client, userKey],
    )) as (number | string)[];
    let clients = this.#counted.get(channel);
    if (clients === undefined) {
      clients = new Set();
      this.#counted.set(channel, clients);
    }
    clients.add(entry.client);
    const expired = expiry(reply, 6, reply[5] === 1);
    return {
      added: reply[0] === 1,
      channelMembers: Number(reply[1]),
      userMembers: Number(reply[2]),
      userReturned: reply[3] === 1,
      channelReturned: reply[4] === 1,
      ...(expired && { expired }),
    };
  }

  async removeCounting(channel: string, client: string, userKey: string, marker?: PresenceMarker): Promise<PresenceRemoveCount> {
    deleteChannelClient(this.#mine, channel, client);
    const clients = this.#counted.get(channel);
    if (clients?.delete(client) === true && clients.size === 0) this.#counted.delete(channel);
    const reply = (await PRESENCE_COUNT_REMOVE.run(
      this.#client,
      [...this.#countKeys(channel), this.#keys.leaveMarker(channel, userKey), this.#keys.vacateMarker(channel)],
      [String(this.#clock.now()), client, marker?.token ?? '', String(Math.ceil(marker?.ttl ?? 0))],
    )) as (number | string)[];
    const expired = expiry(reply, 4, reply[3] === 1);
    if (clients !== undefined && !this.#counted.has(channel)) {
      const set = this.#keys.presenceNode(this.#node);
      await this.#client.command(set, ['SREM', set, channel]).catch(() => undefined);
    }
    return { removed: reply[0] === 1, channelMembers: Number(reply[1]), userMembers: Number(reply[2]), ...(expired && { expired }) };
  }

  /** The markers are in Redis: pending leaves outlive this node (see {@link PresenceStore.sharedMarkers}). */
  readonly sharedMarkers = true;

  async claimMarker(channel: string, userKey: string | undefined, token: string, holdMs = 0): Promise<boolean> {
    const key = userKey === undefined ? this.#keys.vacateMarker(channel) : this.#keys.leaveMarker(channel, userKey);
    const hold = String(Math.max(0, Math.ceil(holdMs)));
    return (await PRESENCE_CLAIM_MARKER.run(this.#client, [key, this.#keys.markerClaim(channel, userKey)], [token, hold])) === 1;
  }

  async list(channel: string): Promise<PresenceMember[]> {
    const flat = (await PRESENCE_LIST.run(
      this.#client,
      [this.#keys.members(channel), this.#keys.alive(channel), this.#keys.owners(channel)],
      [String(this.#clock.now())],
    )) as string[];
    const entries: PresenceMember[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) entries.push(decodeMember(flat[i]!, flat[i + 1]!));
    return entries;
  }

  /**
   * The channels starting with `prefix` with a live member: those of the namespace's index of
   * stamped channels (entries past their latest stamp dropped first), each checked for a member not
   * expired. `prefix` must name its namespace (contain a `:`, as the Pusher API's `{app id}:` does),
   * else every namespace's index is read. The cost grows with the namespace's channels with members.
   */
  async channels(prefix: string): Promise<string[]> {
    const now = this.#clock.now();
    const colon = prefix.indexOf(':');
    const indexes = colon >= 0 ? [this.#keys.presenceChannels(prefix.slice(0, colon))] : await this.#allIndexes();
    const candidates: string[] = [];
    for (const index of indexes) {
      const [, stamped] = (await this.#client.transaction([
        {
          key: index,
          commands: [
            ['ZREMRANGEBYSCORE', index, '-inf', String(now)],
            ['ZRANGEBYSCORE', index, String(now), '+inf'],
          ],
        },
      ])) as [number, string[]];
      for (const channel of stamped) if (channel.startsWith(prefix)) candidates.push(channel);
    }
    const found: string[] = [];
    for (let i = 0; i < candidates.length; i += 500) {
      const chunk = candidates.slice(i, i + 500);
      // One command per channel (pipelined): on a cluster the channels' keys are on different slots.
      const counts = await Promise.all(
        chunk.map((channel) => {
          const alive = this.#keys.alive(channel);
          return this.#client.command<number>(alive, ['ZCOUNT', alive, `(${now}`, '+inf']);
        }),
      );
      chunk.forEach((channel, j) => {
        if (Number(counts[j]) > 0) found.push(channel);
      });
    }
    return found;
  }

  /** Every namespace's channel index (a `SCAN` of every primary: only for a prefix that names no namespace). */
  async #allIndexes(): Promise<string[]> {
    const match = `${escapeGlob(this.#keys.presenceChannels(''))}*`;
    // A key may come twice from one SCAN (while Redis rehashes).
    return [...new Set(await this.#client.scan(match, 1000))];
  }

  /** Stops re-stamping and removes this node's members (they would expire anyway). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#refresh);
    if (this.#client.isReady) {
      const transactions: Transaction[] = [];
      // Nothing counted left here: no sweep is owed for this node.
      if (this.#counted.size === 0) {
        const set = this.#keys.presenceNode(this.#node);
        transactions.push(
          { key: set, commands: [['DEL', set]] },
          { key: this.#keys.presenceNodes, commands: [['ZREM', this.#keys.presenceNodes, this.#node]] },
        );
      }
      // Holds not released yet (the hub's close lets its members go first): another node's release must not wait for them.
      for (const [channel, client] of this.#held.entries()) {
        const key = this.#keys.holders(channel, client);
        transactions.push({ key, commands: [['ZREM', key, this.#node]] });
      }
      for (const [channel, members] of this.#mine) {
        // Counted members stay until they expire: the sweep that drops them emits their leave.
        const counted = this.#counted.get(channel);
        const clients = [...members.keys()].filter((client) => counted?.has(client) !== true);
        if (clients.length === 0) continue;
        const stored = this.#keys.members(channel);
        transactions.push({
          key: stored,
          commands: [
            ['HDEL', stored, ...clients],
            ['ZREM', this.#keys.alive(channel), ...clients],
          ],
        });
      }
      if (transactions.length > 0)
        await this.#client
          .transaction(transactions)
          .catch((error: unknown) => this.#logger.warn({ err: error }, 'presence cleanup failed'));
    }
    this.#mine.clear();
    this.#counted.clear();
    this.#held.clear();
    await this.#client.close();
  }

  async #stamp(channel: string, members: Iterable<[string, string]>): Promise<void> {
    const args = [String(this.#clock.now() + this.#ttl), String(this.#ttl * KEYS_OUTLIVE)];
    for (const [client, stored] of members) args.push(client, stored);
    await PRESENCE_ADD.run(this.#client, [this.#keys.members(channel), this.#keys.alive(channel)], args);
    // The index of channels with members (channels()): an entry lives as long as its latest stamp;
    // each stamp also drops the namespace's expired entries, and the index outlives its last stamp as the keys do.
    const index = this.#keys.presenceChannels(namespaceOf(channel));
    await this.#client.transaction([
      {
        key: index,
        commands: [
          ['ZADD', index, args[0]!, channel],
          ['ZREMRANGEBYSCORE', index, '-inf', String(this.#clock.now())],
          ['PEXPIRE', index, String(this.#ttl * KEYS_OUTLIVE)],
        ],
      },
    ]);
    // The counts live as long as the members they count.
    if (this.#counted.has(channel)) {
      const owners = this.#keys.owners(channel);
      const ttl = String(this.#ttl * KEYS_OUTLIVE);
      await this.#client.transaction([
        {
          key: owners,
          commands: [
            ['PEXPIRE', owners, ttl],
            ['PEXPIRE', this.#keys.userCounts(channel), ttl],
          ],
        },
      ]);
    }
  }

  /** The keys every counting script starts with: members, alive, owners, user counts. */
  #countKeys(channel: string): string[] {
    const keys = this.#keys;
    return [keys.members(channel), keys.alive(channel), keys.owners(channel), keys.userCounts(channel)];
  }

  async #restamp(): Promise<void> {
    if (this.#closed || !this.#client.isReady) return;
    const stamps = [...this.#mine].map(([channel, members]) => this.#stamp(channel, members));
    stamps.push(this.#stampHolds());
    const failed = (await Promise.allSettled(stamps)).find((r) => r.status === 'rejected');
    if (failed !== undefined) this.#logger.warn({ err: failed.reason as unknown }, 'presence refresh failed');
    // After the stamps: a node's refresh time is never before its members' (see DEAD_AFTER).
    if (this.#counted.size > 0) await this.#register([...this.#counted.keys()]).catch(() => undefined);
    if (this.#onExpired !== undefined && !this.#sweeping) {
      this.#sweeping = true;
      await this.#sweepDead()
        .catch((error: unknown) => this.#logger.warn({ err: error }, 'presence sweep of dead nodes failed'))
        .finally(() => (this.#sweeping = false));
    }
  }

  /** Extends this node's holds (see {@link hold}) by `memberTtl` from now. */
  async #stampHolds(): Promise<void> {
    if (this.#held.empty) return;
    const expires = String(this.#clock.now() + this.#ttl);
    const ttl = String(this.#ttl * KEYS_OUTLIVE);
    const transactions: Transaction[] = [];
    for (const [channel, client] of this.#held.entries()) {
      const key = this.#keys.holders(channel, client);
      transactions.push({
        key,
        commands: [
          ['ZADD', key, expires, this.#node],
          ['PEXPIRE', key, ttl],
        ],
      });
    }
    await this.#client.transaction(transactions);
  }

  /** Lists `channels` among this node's and marks the node alive now. */
  async #register(channels: string[]): Promise<void> {
    const set = this.#keys.presenceNode(this.#node);
    const commands: string[][] = [];
    for (let i = 0; i < channels.length; i += 1000) commands.push(['SADD', set, ...channels.slice(i, i + 1000)]);
    commands.push(['PEXPIRE', set, String(NODE_SET_TTL)]);
    // On a cluster the node's set and the node list are on different slots: two transactions, the
    // channels listed first (one MULTI on one server, as before).
    await this.#client.transaction([
      { key: set, commands },
      { key: this.#keys.presenceNodes, commands: [['ZADD', this.#keys.presenceNodes, String(this.#clock.now()), this.#node]] },
    ]);
  }

  /**
   * Sweeps the channels of up to {@link SWEEP_NODES} dead nodes, then forgets them. Several nodes
   * may sweep the same one: each script drops each expired member once, so its leave is sent once.
   */
  async #sweepDead(): Promise<void> {
    const now = this.#clock.now();
    const nodes = this.#keys.presenceNodes;
    const dead = await this.#client.command<string[]>(nodes, [
      'ZRANGEBYSCORE',
      nodes,
      '-inf',
      String(now - this.#ttl * DEAD_AFTER),
      'LIMIT',
      '0',
      String(SWEEP_NODES),
    ]);
    for (const node of dead) {
      if (node === this.#node || this.#closed) continue;
      const set = this.#keys.presenceNode(node);
      let cursor = '0';
      do {
        const [next, members] = await this.#client.command<[string, string[]]>(set, ['SSCAN', set, cursor, 'COUNT', String(SWEEP_CHUNK)]);
        cursor = next;
        for (const channel of members) await this.#sweep(channel);
      } while (cursor !== '0' && !this.#closed);
      await this.#client.transaction([
        { key: set, commands: [['DEL', set]] },
        { key: nodes, commands: [['ZREM', nodes, node]] },
      ]);
    }
  }

  async #sweep(channel: string): Promise<void> {
    const reply = (await PRESENCE_SWEEP.run(this.#client, this.#countKeys(channel), [String(this.#clock.now())])) as (number | string)[];
    const expired = expiry(reply, 1, reply[0] === 1);
    if (expired !== undefined) this.#onExpired?.(channel, expired);
  }
}

/** The swept members at the end of a counting script's reply (user key, client pairs from `from`). */
function expiry(reply: readonly (number | string)[], from: number, vacated: boolean): PresenceExpiry | undefined {
  const left: { userKey: string; client: string }[] = [];
  for (let i = from; i + 1 < reply.length; i += 2) left.push({ userKey: String(reply[i]), client: String(reply[i + 1]) });
  return left.length === 0 && !vacated ? undefined : { left, vacated };
}

/**
 * A member as its hash field's value: the user as JSON (`"alice"` or `null`, the only form before
 * members had `info`), or `{"user", "info"}` when it carries info. Both forms stay readable.
 */
function encodeMember(member: PresenceMember): string {
  return member.info === undefined ? JSON.stringify(member.user) : JSON.stringify({ user: member.user, info: member.info });
}

/** Reads a hash field's value (see {@link encodeMember}); anything unreadable is an anonymous member. */
function decodeMember(client: string, stored: string): PresenceMember {
  let value: unknown;
  try {
    value = JSON.parse(stored);
  } catch {
    return { client, user: null };
  }
  if (typeof value === 'string') return { client, user: value };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { client, user: null };
  const fields = value as { user?: unknown; info?: unknown };
  const user = typeof fields.user === 'string' ? fields.user : null;
  return fields.info === undefined ? { client, user } : { client, user, info: fields.info };
}

/** The namespace of a channel for the channel index: its name up to the first `:`, or `''`. */
function namespaceOf(channel: string): string {
  const colon = channel.indexOf(':');
  return colon < 0 ? '' : channel.slice(0, colon);
}

/** `text` as a literal in a Redis `MATCH` pattern. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
