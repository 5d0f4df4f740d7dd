import {
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
import { connect, disconnect, replyWithin, type RedisClient } from './connection.js';
import { Keys } from './keys.js';
import { PRESENCE_ADD, PRESENCE_CLAIM_MARKER, PRESENCE_COUNT_ADD, PRESENCE_COUNT_REMOVE, PRESENCE_LIST } from './scripts.js';

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
  readonly #client: RedisClient;
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
  readonly #refresh: NodeJS.Timeout;
  #closed = false;

  private constructor(client: RedisClient, options: RedisPresenceOptions, ttl: number) {
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
    const client = await connect({ ...options, logger: options.logger ?? silentLogger }, 'presence');
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
    const members = this.#mine.get(channel);
    if (members?.delete(client) === true && members.size === 0) this.#mine.delete(channel);
    await replyWithin(
      this.#client,
      this.#client.multi().HDEL(this.#keys.members(channel), client).ZREM(this.#keys.alive(channel), client).exec(),
    );
  }

  async addCounting(channel: string, entry: PresenceMember, userKey: string): Promise<PresenceAddCount> {
    await this.add(channel, entry);
    const reply = (await PRESENCE_COUNT_ADD.run(
      this.#client,
      [...this.#countKeys(channel), this.#keys.leaveMarker(channel, userKey), this.#keys.vacateMarker(channel)],
      [String(this.#clock.now()), String(this.#ttl * 2), entry.client, userKey],
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
    const members = this.#mine.get(channel);
    if (members?.delete(client) === true && members.size === 0) this.#mine.delete(channel);
    const clients = this.#counted.get(channel);
    if (clients?.delete(client) === true && clients.size === 0) this.#counted.delete(channel);
    const reply = (await PRESENCE_COUNT_REMOVE.run(
      this.#client,
      [...this.#countKeys(channel), this.#keys.leaveMarker(channel, userKey), this.#keys.vacateMarker(channel)],
      [String(this.#clock.now()), client, marker?.token ?? '', String(Math.ceil(marker?.ttl ?? 0))],
    )) as (number | string)[];
    const expired = expiry(reply, 4, reply[3] === 1);
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

  /** Stops re-stamping and removes this node's members (they would expire anyway). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#refresh);
    if (this.#client.isReady && this.#mine.size > 0) {
      const multi = this.#client.multi();
      for (const [channel, members] of this.#mine) {
        // Counted members stay until they expire: the sweep that drops them emits their leave.
        const counted = this.#counted.get(channel);
        const clients = [...members.keys()].filter((client) => counted?.has(client) !== true);
        if (clients.length === 0) continue;
        multi.HDEL(this.#keys.members(channel), clients).ZREM(this.#keys.alive(channel), clients);
      }
      await replyWithin(this.#client, multi.exec()).catch((error: unknown) => this.#logger.warn({ err: error }, 'presence cleanup failed'));
    }
    this.#mine.clear();
    this.#counted.clear();
    await disconnect(this.#client);
  }

  async #stamp(channel: string, members: Iterable<[string, string]>): Promise<void> {
    const args = [String(this.#clock.now() + this.#ttl), String(this.#ttl * 2)];
    for (const [client, stored] of members) args.push(client, stored);
    await PRESENCE_ADD.run(this.#client, [this.#keys.members(channel), this.#keys.alive(channel)], args);
    // The counts live as long as the members they count.
    if (this.#counted.has(channel)) {
      await replyWithin(
        this.#client,
        this.#client
          .multi()
          .PEXPIRE(this.#keys.owners(channel), this.#ttl * 2)
          .PEXPIRE(this.#keys.userCounts(channel), this.#ttl * 2)
          .exec(),
      );
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
    const failed = (await Promise.allSettled(stamps)).find((r) => r.status === 'rejected');
    if (failed !== undefined) this.#logger.warn({ err: failed.reason as unknown }, 'presence refresh failed');
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
