import { randomBytes } from 'node:crypto';
import { ErrorCode, type Position, type PresenceMember } from '@herald/protocol';
import type { CursorSigner } from '../auth/cursor-signer.js';
import { HeraldError } from '../errors.js';
import { addressKey } from '../http/address-key.js';
import type { Hub } from '../hub/hub.js';
import type { Subscriber } from '../hub/subscriber.js';
import type { Subscription } from '../hub/subscription.js';
import type { Logger } from '../logger.js';
import { matchesConnection, type ConnectionMatch } from './transport.js';

/** Join and leave events one polling session keeps between its polls; past it they are dropped for a `resync`. */
export const POLLER_EVENTS = 100;
/** Default seconds a polling session stays a member after its last answer without polling again. */
export const DEFAULT_POLL_PRESENCE_GRACE = 30;
/** What a session token's signature is for (see `CursorSigner.tag`). */
const TAG_PURPOSE = 'poller';
/** Default most ended sessions a node remembers ({@link PollerPresenceOptions.maxEnded}). */
export const DEFAULT_MAX_ENDED = 10_000;
/** A session id the hub issues: `p` and 96 random bits. */
const CLIENT_ID = /^p[A-Za-z0-9_-]{16}$/;

/** One buffered join, leave or resync marker: the JSON of its `presence` entry, and where it stands. */
interface PollerEvent {
  readonly channel: string;
  /** The channel's position (on the live path) when the event came: messages up to it come first. */
  readonly epoch: string;
  readonly offset: number;
  readonly json: string;
}

/** One polling session's membership of one channel. */
interface Membership {
  readonly session: PollerSession;
  readonly channel: string;
  /** Set once the hub subscribed the session (its member added and its join announced). */
  subscription: Subscription | undefined;
  /** Milliseconds (monotonic) of the last poll or answer of this channel. */
  seen: number;
}

/**
 * A polling client between its polls: a presence member of the channels it polls, and the joins and
 * leaves of those channels it asked for, kept until its next answer. Messages are not delivered
 * here (polls read the log): it only remembers where each channel stood, to place events after the
 * messages that came before them.
 */
export class PollerSession implements Subscriber {
  /** The public id: the presence member's `client`. */
  readonly client: string;
  readonly user: string | null;
  /** The IP address (its bucket, see `addressKey`) of the poll that started it. */
  readonly address: string;
  /** The token the client sends back (`<client>.<tag>`). */
  readonly token: string;
  readonly memberships = new Map<string, Membership>();
  /** Channels whose last poll asked for joins and leaves (permission checked on that poll). */
  joinLeave: ReadonlySet<string> = new Set();
  /** Polls of this session being held. */
  held = 0;
  /** Wakes the held poll, if any, when an event is buffered. */
  wake: (() => void) | undefined;
  /** Set when `POST /api/disconnect` ended it: no poll makes it a member again. */
  ended = false;
  #events: PollerEvent[] = [];

  constructor(client: string, user: string | null, address: string, token: string) {
    this.client = client;
    this.user = user;
    this.address = address;
    this.token = token;
  }

  /** Whether any event is waiting for an answer. */
  get pending(): boolean {
    return this.#events.length > 0;
  }

  /** Nothing: a poll reads the log. */
  message(): void {}

  /** Nothing: a poll reads the log and gets its own gaps. */
  gap(): void {}

  presence(type: 'join' | 'leave', channel: string, member: PresenceMember): void {
    if (!this.joinLeave.has(channel)) return;
    const at = this.memberships.get(channel)?.subscription;
    const epoch = at?.epoch ?? '';
    const offset = at?.offset ?? 0;
    if (this.#events.length >= POLLER_EVENTS) {
      // Full: the client no longer polls as fast as its channels change. Drop what is kept, and
      // tell it (once per channel) that its member list must be read again.
      const lost = new Set(this.#events.map((event) => event.channel));
      lost.add(channel);
      this.#events = [...lost].map((c) => ({ channel: c, epoch: '', offset: 0, json: `{"type":"resync","channel":${JSON.stringify(c)}}` }));
    } else {
      const json = `{"type":${JSON.stringify(type)},"channel":${JSON.stringify(channel)},"member":${JSON.stringify(member)},"offset":${offset}}`;
      this.#events.push({ channel, epoch, offset, json });
    }
    this.wake?.();
  }

  /**
   * Takes the events an answer that brings each channel to `answered` may carry: those of a channel
   * answered at or past the event's position (or in another epoch), in the order they came; those of
   * channels the answer does not cover are dropped. The others wait for the next answer.
   */
  drain(answered: (channel: string) => Position | undefined): string[] {
    if (this.#events.length === 0) return [];
    const out: string[] = [];
    const kept: PollerEvent[] = [];
    for (const event of this.#events) {
      const at = answered(event.channel);
      if (at === undefined) continue;
      if (event.epoch === '' || at.epoch !== event.epoch || at.offset >= event.offset) out.push(event.json);
      else kept.push(event);
    }
    this.#events = kept;
    return out;
  }
}

/** Options of {@link PollerPresence}. */
export interface PollerPresenceOptions {
  /** Seconds a session stays a member of a channel after its last poll or answer of it. */
  readonly grace: number;
  /** Most sessions this node keeps; past it a poll asking for a new one gets none. @default no limit */
  readonly maxSessions?: number;
  /** Most sessions started from one IP address (`connectionsPerIp`). @default no limit */
  readonly perIp?: number;
  /** Most sessions of one user (`connectionsPerUser`). @default no limit */
  readonly perUser?: number;
  /**
   * Most channels one session is a member of (a WebSocket session's `maxChannels`): a poll adding
   * channels past it ends the memberships seen least recently. @default no limit
   */
  readonly maxChannels?: number;
  /**
   * Most ended sessions remembered (see {@link PollerPresence.disconnect}): past it the oldest is
   * forgotten first, and its token starts it again before the grace period is over. Bounds what
   * many `{"client"}` disconnects keep. @default DEFAULT_MAX_ENDED (10,000)
   */
  readonly maxEnded?: number;
  /**
   * Called with the ids of the sessions a `user` match of {@link PollerPresence.disconnect} ended on
   * this node, so the other nodes refuse them too (they know a session by id only, not by user).
   * Not called for those a `client` match names: that id reached every node already. @default none
   */
  readonly onEnded?: (clients: readonly string[]) => void;
  /** Monotonic milliseconds (the timers' clock). @default performance.now */
  readonly now?: () => number;
}

/**
 * The polling sessions of one node: each is a presence member of the channels it polls while it
 * keeps polling them within the grace period, through the hub like a WebSocket session (so the
 * store, the join and leave events and the webhook events are the same). Memberships are kept in
 * the order they were last seen, so a sweep visits only those that expired (and held ones).
 */
export class PollerPresence {
  readonly #hub: Hub;
  readonly #signer: CursorSigner;
  readonly #logger: Logger;
  readonly #grace: number;
  readonly #maxSessions: number;
  readonly #maxChannels: number;
  readonly #perIp: number;
  readonly #perUser: number;
  /** Sessions per IP address and per user, for `perIp` and `perUser`. */
  readonly #ipCounts = new Map<string, number>();
  readonly #userCounts = new Map<string, number>();
  readonly #now: () => number;
  readonly #sessions = new Map<string, PollerSession>();
  /** Every membership, least recently seen first (re-inserted when seen). */
  readonly #order = new Map<string, Membership>();
  /**
   * Sessions `POST /api/disconnect` ended, by id, with when (monotonic ms) this node forgets them:
   * their polls are refused with 2003 until then, the grace period (past it the session would have
   * left anyway, and its token starts it again, as a WebSocket client that reconnects gets in).
   * In insertion order, which is expiry order (the grace period is the same for all, and an id
   * ended again is moved to the end), so the sweep stops at the first one not expired.
   */
  readonly #ended = new Map<string, number>();
  readonly #maxEnded: number;
  readonly #onEnded: ((clients: readonly string[]) => void) | undefined;
  readonly #sweep: NodeJS.Timeout;

  constructor(hub: Hub, signer: CursorSigner, logger: Logger, options: PollerPresenceOptions) {
    this.#hub = hub;
    this.#signer = signer;
    this.#logger = logger;
    this.#grace = options.grace * 1000;
    this.#maxSessions = options.maxSessions ?? Infinity;
    this.#maxChannels = options.maxChannels ?? Infinity;
    this.#perIp = options.perIp ?? Infinity;
    this.#perUser = options.perUser ?? Infinity;
    this.#maxEnded = options.maxEnded ?? DEFAULT_MAX_ENDED;
    if (!Number.isInteger(this.#maxEnded) || this.#maxEnded < 1) throw new RangeError('maxEnded must be an integer >= 1');
    this.#onEnded = options.onEnded;
    this.#now = options.now ?? (() => performance.now());
    this.#sweep = setInterval(() => this.sweep(), Math.min(Math.max(this.#grace / 4, 50), 5000));
    this.#sweep.unref();
  }

  /** Sessions known to this node. */
  get size(): number {
    return this.#sessions.size;
  }

  /**
   * The session of a poll: the one `token` names when this hub issued it to the same user, else a
   * new one (`issued`: the answer hands its token out). `token` "new" (or anything not issued by the
   * hub for this user) starts a session; `undefined` when this node keeps `maxSessions` already, or
   * `perIp` of the poll's address (`peer`: its socket's remote address), or `perUser` of the user.
   * Throws a `HeraldError` (2003) for the token of a session {@link disconnect} ended.
   */
  session(token: string, user: string | null, peer?: string): { session: PollerSession; issued: boolean } | undefined {
    const address = addressKey(peer);
    const dot = token.indexOf('.');
    if (dot > 0 && CLIENT_ID.test(token.slice(0, dot))) {
      const client = token.slice(0, dot);
      const known = this.#sessions.get(client);
      // Only the session's own token learns that it was ended; any other starts a session as usual.
      if (this.#ended.has(client) && this.#signer.verifyTag(TAG_PURPOSE, bound(client, user), token.slice(dot + 1)))
        throw new HeraldError(ErrorCode.Disconnected, 'disconnected by the server');
      if (known !== undefined && known.token === token && known.user === user) return { session: known, issued: false };
      if (
        known === undefined &&
        this.#admits(user, address) &&
        this.#signer.verifyTag(TAG_PURPOSE, bound(client, user), token.slice(dot + 1))
      ) {
        // Issued by a node that shares the secret (or before a restart): the same member.
        const session = new PollerSession(client, user, address, token);
        this.#add(session);
        return { session, issued: false };
      }
    }
    if (!this.#admits(user, address)) return undefined;
    const client = `p${randomBytes(12).toString('base64url')}`;
    const session = new PollerSession(client, user, address, `${client}.${this.#signer.tag(TAG_PURPOSE, bound(client, user))}`);
    this.#add(session);
    return { session, issued: true };
  }

  /** Whether one more session fits the node's, the address's and the user's bounds. */
  #admits(user: string | null, address: string): boolean {
    if (this.#sessions.size >= this.#maxSessions) return false;
    if ((this.#ipCounts.get(address) ?? 0) >= this.#perIp) return false;
    return user === null || (this.#userCounts.get(user) ?? 0) < this.#perUser;
  }

  #add(session: PollerSession): void {
    this.#sessions.set(session.client, session);
    this.#ipCounts.set(session.address, (this.#ipCounts.get(session.address) ?? 0) + 1);
    if (session.user !== null) this.#userCounts.set(session.user, (this.#userCounts.get(session.user) ?? 0) + 1);
  }

  /** Forgets `session` (once) when it has no membership left and no poll held. */
  #drop(session: PollerSession): void {
    if (session.memberships.size > 0 || session.held > 0 || this.#sessions.get(session.client) !== session) return;
    this.#sessions.delete(session.client);
    decrement(this.#ipCounts, session.address);
    if (session.user !== null) decrement(this.#userCounts, session.user);
  }

  /**
   * A poll of `channels` arrived (or was answered): the session is a member of each from now until
   * the grace period after this. Resolves once the new memberships are in the store (a failed one
   * is logged and tried again on the next poll). `infos`: the member info the subscribe hook gave
   * per channel; `info`: the others' (the connect hook's), as for a WebSocket session.
   */
  async seen(session: PollerSession, channels: readonly string[], infos?: ReadonlyMap<string, unknown>, info?: unknown): Promise<void> {
    if (session.ended) return;
    const now = this.#now();
    const joining: Promise<void>[] = [];
    for (const channel of channels) {
      const key = `${session.client}\n${channel}`;
      let membership = this.#order.get(key);
      if (membership !== undefined) {
        this.#order.delete(key);
        membership.seen = now;
        this.#order.set(key, membership);
        const { subscription } = membership;
        if (subscription !== undefined) this.#hub.setJoinLeave(subscription, session.joinLeave.has(channel));
        continue;
      }
      membership = { session, channel, subscription: undefined, seen: now };
      session.memberships.set(channel, membership);
      this.#order.set(key, membership);
      joining.push(this.#join(membership, infos?.get(channel) ?? info));
    }
    if (session.memberships.size > this.#maxChannels) this.#trim(session, channels);
    if (joining.length > 0) await Promise.all(joining);
  }

  async #join(membership: Membership, info: unknown): Promise<void> {
    const { session, channel } = membership;
    try {
      // Held: the session's polls may reach other nodes too, each a holder of the one member.
      const outcome = await this.#hub.subscribe(session, channel, { joinLeave: session.joinLeave.has(channel), info, held: true });
      if (session.memberships.get(channel) !== membership) return this.#hub.unsubscribe(outcome.subscription);
      membership.subscription = outcome.subscription;
      outcome.start();
    } catch (error) {
      this.#logger.warn({ err: error, channel, client: session.client }, 'polling member not added');
      this.#forget(membership);
    }
  }

  /** Ends the memberships of `session` seen least recently, other than `polled`, until it has `maxChannels`. */
  #trim(session: PollerSession, polled: readonly string[]): void {
    const keep = new Set(polled);
    const oldest = [...session.memberships.values()].filter((m) => !keep.has(m.channel)).sort((a, b) => a.seen - b.seen);
    for (const membership of oldest) {
      if (session.memberships.size <= this.#maxChannels) break;
      this.#leave(membership);
    }
  }

  /**
   * Ends the sessions `match` names (`POST /api/disconnect`): each leaves its channels at once, and
   * its polls are refused with 2003 for the grace period (see `session`), a `client` this node does
   * not know included (its polls may come here next). Returns the sessions ended; their held polls
   * are the caller's to answer. The ids of those a `user` match ended go to `onEnded`.
   */
  disconnect(match: ConnectionMatch): PollerSession[] {
    const until = this.#now() + this.#grace;
    const ended = [...this.#sessions.values()].filter((session) => matchesConnection(match, session.user, session.client));
    for (const session of ended) {
      session.ended = true;
      this.#remember(session.client, until);
      for (const membership of [...session.memberships.values()]) this.#leave(membership);
    }
    if (match.client !== undefined && CLIENT_ID.test(match.client)) this.#remember(match.client, until);
    // Another node knows a session only by its id, and re-creates it from its signed token: tell the
    // others the ids a user match ended here, as `client` disconnects (which they record even when
    // the session is unknown to them). Ids of a `client` match are not announced again, so the
    // messages never bounce between nodes. Refusing the user's tokens by time instead would need
    // the token to carry when it was issued: without it a node could not tell the ended sessions
    // from those the user starts again after the disconnect (`session=new` is let in).
    const byUser = ended.filter((session) => session.client !== match.client).map((session) => session.client);
    if (byUser.length > 0) this.#onEnded?.(byUser);
    return ended;
  }

  /** Records `client` as ended until `until`, at the end of the expiry order, within `maxEnded`. */
  #remember(client: string, until: number): void {
    this.#ended.delete(client);
    this.#ended.set(client, until);
    for (const oldest of this.#ended.keys()) {
      if (this.#ended.size <= this.#maxEnded) break;
      this.#ended.delete(oldest);
    }
  }

  /** Ends the memberships not seen within the grace period (a held poll's are kept). */
  sweep(): void {
    const now = this.#now();
    for (const [client, until] of this.#ended) {
      if (until > now) break;
      this.#ended.delete(client);
    }
    const before = now - this.#grace;
    const kept: Membership[] = [];
    for (const [key, membership] of this.#order) {
      if (membership.seen > before) break;
      this.#order.delete(key);
      if (membership.session.held > 0) kept.push(membership);
      else this.#leave(membership);
    }
    for (const membership of kept) {
      membership.seen = now;
      this.#order.set(`${membership.session.client}\n${membership.channel}`, membership);
    }
  }

  #leave(membership: Membership): void {
    this.#forget(membership);
    if (membership.subscription !== undefined) this.#hub.unsubscribe(membership.subscription);
  }

  #forget(membership: Membership): void {
    const { session, channel } = membership;
    this.#order.delete(`${session.client}\n${channel}`);
    if (session.memberships.get(channel) === membership) session.memberships.delete(channel);
    this.#drop(session);
  }

  /** A poll of the session ended: a session with no membership left is forgotten. */
  release(session: PollerSession): void {
    this.#drop(session);
  }

  /** Stops the sweep; the hub's close removes the members. */
  close(): void {
    clearInterval(this.#sweep);
  }
}

function decrement(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 0) - 1;
  if (left > 0) counts.set(key, left);
  else counts.delete(key);
}

/** What a session token signs: its id and its user (another user's token is not accepted). */
function bound(client: string, user: string | null): string {
  return user === null ? `${client}\0` : `${client}\0u${user}`;
}
