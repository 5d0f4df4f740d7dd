import { randomUUID } from 'node:crypto';
import type { PresenceMember } from '@herald/protocol';
import {
  deleteChannelClient,
  HeldMembers,
  systemClock,
  timerSeconds,
  type Clock,
  type PresenceAddCount,
  type PresenceExpiry,
  type PresenceMarker,
  type PresenceRemoveCount,
  type PresenceStore,
} from '@herald/server';
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { connect, disconnect, retrying, setupDeadline, type NatsConnectionOptions } from './connection.js';
import { KvCas } from './kv-cas.js';
import { fromKeyPart, keyPart, Names } from './names.js';
import { PresenceCounts } from './presence-counts.js';

/** Options of {@link NatsPresenceStore.connect}. */
export interface NatsPresenceOptions extends NatsConnectionOptions {
  /** @default "HERALD" */
  readonly prefix?: string;
  /** Replicas of the presence bucket when this node creates it. @default 1 */
  readonly replicas?: number;
  /**
   * Seconds a member outlives its node: each node refreshes its members every third of this, so
   * the members of a node that died disappear within it. @default 30
   */
  readonly memberTtl?: number;
  readonly clock?: Clock;
}

/** A member as stored: its expiry (clock ms) and the member. */
interface Stored {
  readonly expires: number;
  readonly member: PresenceMember;
}

/** Members listed per channel at once, at most (bounds one {@link NatsPresenceStore.list}). */
const LIST_MAX = 100_000;
/** Channels with counted members one periodic sweep looks at, at most. */
const SWEEP_MAX = 1000;

/**
 * Presence across nodes in a KV bucket: one key per channel and client
 * (`<channel>.<client>`, both base64url), holding the member and its expiry. Each node re-stamps
 * the members it holds every third of `memberTtl`; a member whose node stopped doing so is dropped
 * by the next list. Counting (`addCounting`, behind the presence webhook events) keeps one entry
 * per channel in a second bucket (see {@link PresenceCounts}); its markers live there, but the
 * webhook queue of a NATS node is in its memory, so a closing node sends its pending leaves at once
 * (`sharedMarkers` false).
 */
export class NatsPresenceStore implements PresenceStore {
  readonly #nc: NatsConnection;
  readonly #kv: KV;
  readonly #clock: Clock;
  readonly #ttl: number;
  readonly #counts: PresenceCounts;
  readonly #mine = new Map<string, Map<string, PresenceMember>>();
  /** Of those, the counted ones (per channel): re-stamped in the counts too. */
  readonly #counted = new Map<string, Set<string>>();
  /** The members this node holds (see {@link hold}), per channel: their holds are re-stamped with the members. */
  readonly #held = new HeldMembers([this.#mine, this.#counted]);
  /** This store's id among the holders of a member, unique per process. */
  readonly #node = randomUUID();
  readonly #refresh: NodeJS.Timeout;
  #onExpired: ((channel: string, expiry: PresenceExpiry) => void) | undefined;
  #connected = true;
  #closed = false;

  /** Pending leaves are sent by the node that set them (its webhook queue is in its memory). */
  readonly sharedMarkers = false;

  private constructor(nc: NatsConnection, kv: KV, counts: PresenceCounts, clock: Clock, ttl: number) {
    this.#nc = nc;
    this.#kv = kv;
    this.#counts = counts;
    this.#clock = clock;
    this.#ttl = ttl * 1000;
    this.#refresh = setInterval(() => void this.#restamp(), this.#ttl / 3);
    this.#refresh.unref();
    void this.#watchStatus();
  }

  async #watchStatus(): Promise<void> {
    for await (const status of this.#nc.status()) {
      if (status.type === 'disconnect') this.#connected = false;
      else if (status.type === 'reconnect') this.#connected = true;
    }
  }

  static async connect(options: NatsPresenceOptions): Promise<NatsPresenceStore> {
    const ttl = timerSeconds('memberTtl', options.memberTtl, 30, 1);
    const names = new Names(options.prefix ?? 'HERALD');
    const nc = await connect(options, 'presence');
    try {
      const js = jetstream(nc, { timeout: options.commandTimeout ?? 5000 });
      const kvm = new Kvm(js);
      const settings = { history: 1, replicas: options.replicas ?? 1 };
      const kv = await retrying(() => kvm.create(names.bucket('presence'), settings), setupDeadline(options));
      const counts = await retrying(() => kvm.create(names.bucket('counts'), settings), setupDeadline(options));
      const counting = new PresenceCounts(counts, new KvCas(js, names.bucket('counts')));
      return new NatsPresenceStore(nc, kv, counting, options.clock ?? systemClock, ttl);
    } catch (error) {
      await disconnect(nc);
      throw error;
    }
  }

  /** Whether the connection to NATS is up (the node reports not ready otherwise). */
  isAvailable(): boolean {
    return !this.#closed && this.#connected && !this.#nc.isClosed();
  }

  async add(channel: string, entry: PresenceMember): Promise<void> {
    const member: PresenceMember =
      entry.info === undefined ? { client: entry.client, user: entry.user } : { client: entry.client, user: entry.user, info: entry.info };
    await this.#put(channel, member);
    let members = this.#mine.get(channel);
    if (members === undefined) {
      members = new Map();
      this.#mine.set(channel, members);
    }
    members.set(entry.client, member);
  }

  async #put(channel: string, member: PresenceMember): Promise<void> {
    const stored: Stored = { expires: this.#clock.now() + this.#ttl, member };
    await this.#kv.put(`${keyPart(channel)}.${keyPart(member.client)}`, JSON.stringify(stored));
  }

  async remove(channel: string, client: string): Promise<void> {
    deleteChannelClient(this.#mine, channel, client);
    await this.#kv.delete(`${keyPart(channel)}.${keyPart(client)}`);
  }

  async list(channel: string): Promise<PresenceMember[]> {
    const prefix = `${keyPart(channel)}.`;
    const keys: string[] = [];
    for await (const key of await this.#kv.keys(`${prefix}*`)) {
      keys.push(key);
      if (keys.length >= LIST_MAX) break;
    }
    const now = this.#clock.now();
    const members: PresenceMember[] = [];
    await Promise.all(
      keys.map(async (key) => {
        const entry = await this.#kv.get(key);
        if (entry === null || entry.operation !== 'PUT') return;
        const stored = parseStored(entry.string());
        if (stored !== undefined && stored.expires > now) {
          members.push(stored.member);
          return;
        }
        // Its node stopped re-stamping it (or it is unreadable): drop it, unless re-stamped meanwhile.
        await this.#kv.delete(key, { previousSeq: entry.revision }).catch(() => undefined);
      }),
    );
    return members;
  }

  async channels(prefix: string): Promise<string[]> {
    const found = new Set<string>();
    for await (const key of await this.#kv.keys()) {
      // A hold (`<channel>.<client>.<node>`, see hold()): its member's key, if any, names the channel.
      if (key.indexOf('.') !== key.lastIndexOf('.')) continue;
      const channel = fromKeyPart(key.slice(0, key.indexOf('.')));
      if (channel.startsWith(prefix)) found.add(channel);
      if (found.size >= LIST_MAX) break;
    }
    return [...found];
  }

  /**
   * Holds `client`'s membership of `channel` for this node: a key `<channel>.<client>.<node>` holding
   * the hold's expiry (re-stamped with this node's members, so a dead node's hold ends within
   * `memberTtl`). Resolves whether no other node held it. Not atomic across nodes: two nodes
   * holding a new member at the same moment may both be first (two joins), never neither.
   */
  async hold(channel: string, client: string): Promise<boolean> {
    return this.#held.hold(channel, client, async () => {
      // Others counted before this hold is written: a race errs towards a second join, not none.
      const others = await this.#otherHolders(channel, client);
      await this.#kv.put(this.#holdKey(channel, client), String(this.#clock.now() + this.#ttl));
      return others === 0;
    });
  }

  /**
   * Ends this node's hold (see {@link hold}); resolves whether no other node holds the member (two
   * nodes letting go at the same moment may both be last, never neither). When one does, this node
   * stops re-stamping the member (and its count), which stay for that node.
   */
  async release(channel: string, client: string): Promise<boolean> {
    return this.#held.release(channel, client, async () => {
      // Deleted before the others are counted: a race errs towards a second leave, not none.
      await this.#kv.delete(this.#holdKey(channel, client));
      return (await this.#otherHolders(channel, client)) === 0;
    });
  }

  #holdKey(channel: string, client: string): string {
    return `${keyPart(channel)}.${keyPart(client)}.${this.#node}`;
  }

  /** The other nodes' live holds of the member; expired ones (of dead nodes) are deleted. */
  async #otherHolders(channel: string, client: string): Promise<number> {
    const mine = this.#holdKey(channel, client);
    const keys: string[] = [];
    for await (const key of await this.#kv.keys(`${keyPart(channel)}.${keyPart(client)}.*`)) if (key !== mine) keys.push(key);
    const now = this.#clock.now();
    let live = 0;
    for (const key of keys) {
      const entry = await this.#kv.get(key);
      if (entry === null || entry.operation !== 'PUT') continue;
      if (Number(entry.string()) > now) live++;
      else await this.#kv.delete(key, { previousSeq: entry.revision }).catch(() => undefined);
    }
    return live;
  }

  async #restamp(): Promise<void> {
    if (this.#closed) return;
    const expires = String(this.#clock.now() + this.#ttl);
    for (const [channel, client] of this.#held.entries())
      await this.#kv.put(this.#holdKey(channel, client), expires).catch(() => undefined);
    for (const [channel, members] of this.#mine) {
      for (const member of members.values()) await this.#put(channel, member).catch(() => undefined);
    }
    const now = this.#clock.now();
    for (const [channel, clients] of this.#counted)
      await this.#counts.restamp(channel, [...clients], now, this.#ttl).catch(() => undefined);
    const listener = this.#onExpired;
    if (listener !== undefined) await this.#counts.sweepAll(now, SWEEP_MAX, listener).catch(() => undefined);
  }

  /**
   * Sweeps, on each refresh, the counted channels (up to 1000) for members whose node stopped
   * re-stamping them; `listener` gets what each sweep dropped.
   */
  onExpired(listener: (channel: string, expiry: PresenceExpiry) => void): void {
    this.#onExpired = listener;
  }

  async addCounting(channel: string, entry: PresenceMember, userKey: string): Promise<PresenceAddCount> {
    await this.add(channel, entry);
    const count = await this.#counts.add(channel, entry.client, userKey, this.#clock.now(), this.#ttl);
    let clients = this.#counted.get(channel);
    if (clients === undefined) {
      clients = new Set();
      this.#counted.set(channel, clients);
    }
    clients.add(entry.client);
    return count;
  }

  async removeCounting(channel: string, client: string, userKey: string, marker?: PresenceMarker): Promise<PresenceRemoveCount> {
    deleteChannelClient(this.#counted, channel, client);
    await this.remove(channel, client);
    return this.#counts.remove(channel, client, userKey, this.#clock.now(), marker);
  }

  claimMarker(channel: string, userKey: string | undefined, token: string, holdMs = 0): Promise<boolean> {
    return this.#counts.claim(channel, userKey, token, this.#clock.now(), Math.max(0, Math.ceil(holdMs)));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#refresh);
    // Holds not released yet (the hub's close lets its members go first): another node's release must not wait for them.
    await Promise.all(
      [...this.#held.entries()].map(([channel, client]) => this.#kv.delete(this.#holdKey(channel, client)).catch(() => undefined)),
    );
    this.#held.clear();
    // Counted members stay until they expire: the sweep that drops them reports their leave.
    await Promise.all(
      [...this.#mine].flatMap(([channel, members]) =>
        [...members.keys()]
          .filter((client) => this.#counted.get(channel)?.has(client) !== true)
          .map((client) => this.#kv.delete(`${keyPart(channel)}.${keyPart(client)}`).catch(() => undefined)),
      ),
    );
    this.#mine.clear();
    this.#counted.clear();
    await disconnect(this.#nc);
  }
}

function parseStored(text: string): Stored | undefined {
  try {
    const value = JSON.parse(text) as Partial<Stored>;
    if (typeof value.expires !== 'number' || typeof value.member?.client !== 'string') return undefined;
    return value as Stored;
  } catch {
    return undefined;
  }
}
