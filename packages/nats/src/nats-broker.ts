import { createHash } from 'node:crypto';
import type { Position } from '@herald/protocol';
import {
  newEpoch,
  resolveHistoryPolicy,
  serializeEnvelope,
  silentLogger,
  systemClock,
  timerMs,
  type Broker,
  type BrokerHandler,
  type BrokerMessage,
  type Clock,
  type DuplicatePublish,
  type HistoryOptions,
  type HistoryPolicy,
  type Logger,
  type PresenceEvent,
  type PublishOptions,
  type ReadOptions,
  type ReadResult,
} from '@herald/server';
import { JetStreamApiCodes, JetStreamApiError, jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { headers, nanos, NoRespondersError, RequestError, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { ChannelLog, firstOffset, NatsLogError, parseBody, recordBody, TAG_HEADER, type Record } from './channel-log.js';
import { connect, disconnect, retrying, setupDeadline, type NatsConnectionOptions } from './connection.js';
import { IdempotencyKeys, reservationTag, type Reservation } from './idempotency-keys.js';
import { KvCas } from './kv-cas.js';
import { channelToken, Names, tokenChannel } from './names.js';

/** Options of {@link NatsBroker.connect}. */
export interface NatsBrokerOptions extends HistoryOptions, NatsConnectionOptions {
  /** Name of the stream and prefix of every subject and KV bucket, so deployments can share a NATS. @default "HERALD" */
  readonly prefix?: string;
  /** Replicas of the stream and buckets this node creates (1, or 3 on a cluster of 3+ servers). @default 1 */
  readonly replicas?: number;
  /** Seconds the idempotency bucket keeps a key at most (past the longest `idempotencyTtl` the hub uses). @default 86400 */
  readonly idempotencyRetention?: number;
  /**
   * How often (ms) the node checks that the stream answers (and whether it was recreated: then every
   * empty channel has a new epoch). @default 1000
   */
  readonly healthInterval?: number;
  /** @default the system clock */
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/** Publishes of one channel that may lose the race for the next offset to other nodes, each time. */
const PUBLISH_ATTEMPTS = 100;
/** Offsets between two trims of a channel's stored records (by size and age), at most. */
const TRIM_EVERY = 64;
/** Binary-search steps to find an offset's record (stream sequences are below 2^53). */
const SEARCH_STEPS = 64;
/**
 * Stream sequences remembered per channel (recent offsets), and channels remembered (in this and
 * in the channels' last records), at most: ~20 MB of heap when full (256 per channel was ~74 MB).
 */
const SEQS_PER_CHANNEL = 64;
const SEQ_CHANNELS = 10_000;
/** Records a takeover of an idempotency reservation looks through for the abandoned append, at most. */
const TAG_SCAN = 10_000;
/** Reads of a channel that a concurrent trim tore, at most, before one returns what follows the hole. */
const READ_ATTEMPTS = 3;
/** Reads of more records than this go through a consumer, in batches. */
const BATCH_FROM = 32;
/**
 * Publishes of one channel appended together in one record, at most (those that queued behind the
 * channel's append in flight), and their payload bytes (UTF-16 units) at most, past the first.
 */
const APPEND_MESSAGES = 64;
const APPEND_CHARS = 256 * 1024;

/** A publish waiting for its channel's next append. */
interface Pending {
  readonly dataJson: string;
  readonly resolve: (message: BrokerMessage) => void;
  readonly reject: (error: unknown) => void;
}

/** What this node knows of a channel's last record (its offset's successor goes after `seq`). */
interface Tail {
  readonly seq: number;
  readonly epoch: string;
  readonly offset: number;
}

/**
 * The NATS JetStream engine. All channel logs live in one stream, one subject per channel; each
 * record carries its channel offset and epoch. A publish appends with
 * `Nats-Expected-Last-Subject-Sequence` set to the channel's last record, so publishers on any
 * number of nodes take consecutive offsets (the loser of a race reloads the tail and tries again);
 * the stream republishes each stored record to a live subject that nodes subscribe to (core NATS),
 * so live delivery only ever carries stored messages, in stream order.
 *
 * Retention: reads hide records beyond `historySize` and older than `historyTtl` (by the hub's
 * clock); publishes trim them from the stream now and then, always keeping a channel's last
 * record, which holds its position. Epochs: a channel that has no record (never published, or the
 * stream was recreated) has an epoch derived from the stream's identity (a random id in its
 * description); `renewEpoch` appends a marker record (offset 0) with a new epoch.
 */
export class NatsBroker implements Broker {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #log: ChannelLog;
  readonly #names: Names;
  readonly #keys: IdempotencyKeys;
  readonly #policy: (channel: string) => HistoryPolicy;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #timeout: number;
  readonly #live = new Map<string, Subscription>();
  readonly #tails = new Map<string, Tail>();
  /** Per channel, the stream sequences of recent offsets (of one epoch) this node saw: reads start there without a search. */
  readonly #seqs = new Map<string, { epoch: string; offsets: Map<number, number> }>();
  /** Per channel, the end of this node's queue of appends (one at a time per channel per node). */
  readonly #queues = new Map<string, Promise<unknown>>();
  /** Per channel, publishes waiting for the next append (which takes them all, up to a bound). */
  readonly #pending = new Map<string, Pending[]>();
  /** Publishes not settled yet. */
  readonly #inFlight = new Set<Promise<void>>();
  readonly #control: Subscription;
  #handler: BrokerHandler | undefined;
  #connected = true;
  /** The last health probe got no timely answer (no stream leader, or NATS stopped answering). */
  #unresponsive = false;
  readonly #probe: NodeJS.Timeout;
  #probing = false;
  #closed = false;
  /** The stream identity this node's caches belong to. */
  #streamIdentity: string;

  private constructor(nc: NatsConnection, log: ChannelLog, keys: IdempotencyKeys, names: Names, options: NatsBrokerOptions) {
    this.#nc = nc;
    this.#js = jetstream(nc, { timeout: options.commandTimeout ?? 5000 });
    this.#log = log;
    this.#streamIdentity = log.identity;
    this.#keys = keys;
    this.#names = names;
    this.#policy = resolveHistoryPolicy(options);
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
    this.#timeout = options.commandTimeout ?? 5000;
    this.#control = nc.subscribe(names.control, {
      callback: (error, msg) => {
        if (error === null && !this.#closed) this.#handler?.onControl?.(msg.string());
      },
    });
    void this.#watchStatus();
    this.#probe = setInterval(() => void this.#checkHealth(), options.healthInterval ?? 1000);
    this.#probe.unref();
  }

  /** Asks the stream for its info: it answers (a leader serves it), and it is the same stream. */
  async #checkHealth(): Promise<void> {
    if (this.#probing || this.#closed || !this.#connected) return;
    this.#probing = true;
    try {
      await this.#log.ensure();
      if (!this.#noticeRecreation() && this.#unresponsive) this.#handler?.onLiveReset?.();
      this.#unresponsive = false;
    } catch {
      this.#unresponsive = true;
    } finally {
      this.#probing = false;
    }
  }

  /**
   * Whether the stream's identity changed since this node last looked (whoever refreshed it: the
   * health probe, a read or append that found the stream gone or a channel empty): then every
   * channel lost its log, the node forgets what it cached, and the hub checks every position.
   */
  #noticeRecreation(): boolean {
    if (this.#log.identity === this.#streamIdentity) return false;
    this.#streamIdentity = this.#log.identity;
    this.#tails.clear();
    this.#seqs.clear();
    if (!this.#closed) this.#handler?.onLiveReset?.();
    return true;
  }

  /** Connects, creates the stream and the idempotency bucket if needed; rejects when NATS cannot be reached. */
  static async connect(options: NatsBrokerOptions): Promise<NatsBroker> {
    resolveHistoryPolicy(options);
    timerMs('healthInterval', options.healthInterval, 1000);
    const names = new Names(options.prefix ?? 'HERALD');
    const replicas = options.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw new RangeError('replicas must be an integer from 1 to 5');
    const retention = options.idempotencyRetention ?? 86_400;
    if (!Number.isFinite(retention) || retention <= 0) throw new RangeError('idempotencyRetention must be a number of seconds > 0');
    const timeout = options.commandTimeout ?? 5000;
    const nc = await connect(options, 'broker');
    try {
      const setup = setupDeadline(options);
      const log = await retrying(() => ChannelLog.open(nc, names, timeout, replicas), setup);
      const js = jetstream(nc, { timeout });
      const bucket = names.bucket('idempotency');
      const kv = await retrying(() => new Kvm(js).create(bucket, { history: 1, replicas, ttl: Math.round(retention * 1000) }), setup);
      await retrying(() => raiseMaxAge(log, `KV_${bucket}`, retention), setup);
      return new NatsBroker(nc, log, new IdempotencyKeys(kv, new KvCas(js, bucket), options.clock ?? systemClock), names, options);
    } catch (error) {
      await disconnect(nc);
      throw error;
    }
  }

  async #watchStatus(): Promise<void> {
    for await (const status of this.#nc.status()) {
      if (status.type === 'disconnect') this.#connected = false;
      else if (status.type === 'reconnect') {
        this.#connected = true;
        // Core NATS dropped whatever was published while this node was away: the hub checks.
        this.#tails.clear();
        this.#seqs.clear();
        if (!this.#closed) this.#handler?.onLiveReset?.();
      }
    }
  }

  setHandler(handler: BrokerHandler): void {
    this.#handler = handler;
  }

  /** Whether the connection to NATS is up (the node reports not ready otherwise). */
  isAvailable(): boolean {
    return !this.#closed && this.#connected && !this.#unresponsive && !this.#nc.isClosed();
  }

  /** The stream this broker stores channel logs in (tests delete it). */
  get streamName(): string {
    return this.#names.stream;
  }

  publish(channel: string, dataJson: string): Promise<BrokerMessage>;
  publish(channel: string, dataJson: string, options: PublishOptions): Promise<BrokerMessage | DuplicatePublish>;
  publish(channel: string, dataJson: string, options?: PublishOptions): Promise<BrokerMessage | DuplicatePublish> {
    // Tracked until settled: closing waits for publishes in flight (their answers are due).
    const published = this.#publish(channel, dataJson, options);
    const settled = published.then(
      () => undefined,
      () => undefined,
    );
    this.#inFlight.add(settled);
    void settled.then(() => this.#inFlight.delete(settled));
    return published;
  }

  async #publish(channel: string, dataJson: string, options?: PublishOptions): Promise<BrokerMessage | DuplicatePublish> {
    let reservation: Reservation | undefined;
    if (options !== undefined) {
      // Where this publish's append will go after, at the earliest: a takeover looks past it.
      // (Read when this node has none cached: from 0, a takeover would scan the whole channel, and
      // its scan is bounded.)
      const from = (this.#tails.get(channel) ?? (await this.#tail(channel))).seq;
      const found = await this.#keys.reserve(channel, options.idempotencyKey, options.idempotencyTtl, options.fingerprint, from);
      if (!('revision' in found)) return { duplicate: true, channel, ...found };
      reservation = found;
      if (found.abandoned !== undefined) {
        // The reservation's holder gave up or died; its append may be stored all the same.
        const stored = await this.#findTagged(channel, found.abandoned.tag, found.abandoned.from);
        if (stored !== undefined) {
          // Its position counts for the key, under the fingerprint of the publish that stored it.
          await this.#keys.commit({ ...found, fingerprint: found.abandoned.fingerprint }, stored.epoch, stored.offset);
          return { duplicate: true, channel, epoch: stored.epoch, offset: stored.offset, fingerprint: found.abandoned.fingerprint };
        }
      }
    }
    let message: BrokerMessage;
    try {
      if (reservation === undefined) message = await this.#enqueue(channel, dataJson);
      else {
        // A keyed publish is a record of its own, so that its tag names exactly its message.
        const tag = reservationTag(reservation);
        message = (await this.#serially(channel, () => this.#append(channel, [dataJson], tag)))[0]!;
      }
    } catch (error) {
      // Only a refusal says it was not stored; an append that got no answer may be: the key stays
      // reserved (pending), and the publish that takes it over looks for the tagged append first.
      if (reservation !== undefined && !uncertain.has(error as object)) await this.#keys.release(reservation);
      throw error;
    }
    if (reservation !== undefined) await this.#keys.commit(reservation, message.epoch, message.offset);
    return message;
  }

  /**
   * Appends `dataJson` after this node's earlier appends to the channel. Publishes that arrive while
   * an append of the channel is in flight wait and go together in the next one (one record, one
   * round trip, one live message): a hot channel is not limited to one message per round trip,
   * and its subscribers get them in one event-loop turn (one socket write each, not one per message).
   */
  #enqueue(channel: string, dataJson: string): Promise<BrokerMessage> {
    return new Promise((resolve, reject) => {
      const waiting = this.#pending.get(channel);
      if (waiting !== undefined) {
        waiting.push({ dataJson, resolve, reject });
        return;
      }
      this.#pending.set(channel, [{ dataJson, resolve, reject }]);
      void this.#serially(channel, () => this.#appendPending(channel));
    });
  }

  /** Appends the channel's waiting publishes (as many as one record takes; the rest queue again). */
  async #appendPending(channel: string): Promise<void> {
    const waiting = this.#pending.get(channel) ?? [];
    let count = 0;
    for (let chars = 0; count < waiting.length && count < APPEND_MESSAGES; count++) {
      chars += waiting[count]!.dataJson.length;
      if (count > 0 && chars > APPEND_CHARS) break;
    }
    const batch = waiting.slice(0, count);
    if (count < waiting.length) {
      const rest = waiting.slice(count);
      this.#pending.set(channel, rest);
      void this.#serially(channel, () => this.#appendPending(channel));
    } else this.#pending.delete(channel);
    try {
      const messages = await this.#append(
        channel,
        batch.map((p) => p.dataJson),
      );
      batch.forEach((p, i) => p.resolve(messages[i]!));
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }

  /** Runs `task` after this node's earlier appends to the channel. */
  #serially<T>(channel: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(channel) ?? Promise.resolve();
    const run = previous.then(task, task);
    const settled = run.catch(() => undefined);
    this.#queues.set(channel, settled);
    void settled.then(() => {
      if (this.#queues.get(channel) === settled) this.#queues.delete(channel);
    });
    return run;
  }

  async #tail(channel: string, reload = false): Promise<Tail> {
    const known = reload ? undefined : this.#tails.get(channel);
    if (known !== undefined) return known;
    const last = await this.#log.last(this.#names.log(channel));
    const tail = last ?? { seq: 0, epoch: await this.#emptyEpoch(channel), offset: 0 };
    this.#setTail(channel, tail);
    return tail;
  }

  /**
   * The epoch of a channel without any record: fixed per channel while the stream lives. Derived
   * from the stream's identity as it is now (asked again each time): a channel is empty when it was
   * never published to, or when the stream was recreated (deleted, or NATS lost its storage), and a
   * node that derived the epoch from the identity it cached would go on with offsets 1, 2, … in the
   * old stream's epoch, which clients that saw the old offsets would take for messages they have.
   */
  async #emptyEpoch(channel: string): Promise<string> {
    await this.#log.ensure();
    this.#noticeRecreation();
    return createHash('sha256').update(`${this.#log.identity}\n${channel}`).digest('base64url').slice(0, 16);
  }

  /** The channel's record tagged `tag` after stream sequence `from` (a bounded scan), if any. */
  async #findTagged(channel: string, tag: string, from: number): Promise<Record | undefined> {
    const subject = this.#names.log(channel);
    let record = await this.#log.next(subject, from + 1);
    for (let step = 0; record !== undefined && step < TAG_SCAN; step++) {
      if (record.tag === tag) return record;
      record = await this.#log.next(subject, record.seq + 1);
    }
    return undefined;
  }

  /** Appends the messages as one record after the channel's last one (consecutive offsets). */
  async #append(channel: string, dataJsons: readonly string[], tag?: string): Promise<BrokerMessage[]> {
    const subject = this.#names.log(channel);
    let tail = await this.#tail(channel);
    for (let attempt = 0; attempt < PUBLISH_ATTEMPTS; attempt++) {
      const first = tail.offset + 1;
      const last = tail.offset + dataJsons.length;
      const { epoch } = tail;
      const time = this.#clock.now();
      const jsons = dataJsons.map((dataJson, i) => serializeEnvelope(channel, epoch, first + i, time, dataJson));
      try {
        const ack = await this.#js.publish(subject, recordBody(first, epoch, time, jsons), {
          expect: { lastSubjectSequence: tail.seq },
          // One id per channel position (the record's first offset): of two appends racing for it,
          // JetStream stores one and answers the other `duplicate`. The expected sequence alone does
          // not serialise racing appends on a clustered stream in nats-server 2.9 (nats-server#4320;
          // 2.9.10 is tested). An append from a stale tail reuses the id of the record stored after
          // that tail (records are contiguous), so it is a duplicate too.
          msgID: `${epoch}.${first}.${channelToken(channel)}`,
          ...(tag !== undefined && { headers: tagHeaders(tag) }),
        });
        if (ack.duplicate) {
          // Another node took this offset: reload the tail and try the next one.
          tail = await this.#tail(channel, true);
          continue;
        }
        this.#setTail(channel, { seq: ack.seq, epoch, offset: last });
        for (let offset = first; offset <= last; offset++) this.#remember(channel, epoch, offset, ack.seq);
        if (Math.floor(last / TRIM_EVERY) > Math.floor((first - 1) / TRIM_EVERY)) void this.#trim(channel, subject);
        return jsons.map((json, i) => ({ channel, epoch, offset: first + i, time, json }));
      } catch (error) {
        if (noStream(error)) {
          // The stream was deleted: recreate it (its channels start new epochs) and append there.
          if (attempt > 0) throw error;
          await this.#log.ensure();
        } else if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamWrongLastSequence)) {
          this.#tails.delete(channel);
          // No answer (a timeout, the connection lost): NATS may have stored it.
          if (!(error instanceof JetStreamApiError) && error instanceof Object) uncertain.add(error);
          throw error;
        }
        // Another node appended meanwhile (or this node's view is stale): reload the tail.
        tail = await this.#tail(channel, true);
      }
    }
    throw new NatsLogError(`gave up appending to ${channel} after ${PUBLISH_ATTEMPTS} lost races`);
  }

  /** Drops records hidden by the channel's history size and age (never its last record). */
  async #trim(channel: string, subject: string): Promise<void> {
    try {
      const policy = this.#policy(channel);
      const last = await this.#log.last(subject);
      if (last === undefined) return;
      const cutoff = policy.ttl > 0 ? this.#clock.now() - policy.ttl * 1000 : -Infinity;
      const first = Math.max(1, last.offset - policy.size + 1);
      const oldest = await this.#first(subject, last, (r) => r.epoch === last.epoch && r.offset >= first && r.time > cutoff);
      if (oldest.seq > 1) await this.#log.purgeBefore(subject, oldest.seq);
    } catch (error) {
      this.#logger.warn({ err: error, channel }, 'trimming a channel log in NATS failed');
    }
  }

  /**
   * The channel's earliest record that `wanted` accepts, given that `last` (its last record) is
   * accepted and that accepted records form a suffix of the channel's records: a binary search over
   * stream sequences with `next_by_subj` reads.
   */
  async #first(subject: string, last: Record, wanted: (record: Record) => boolean, from = 1): Promise<Record> {
    let best = last;
    let lo = from;
    let hi = last.seq - 1;
    for (let step = 0; step < SEARCH_STEPS && lo <= hi; step++) {
      const mid = lo + Math.floor((hi - lo) / 2);
      const found = await this.#log.next(subject, mid);
      if (found === undefined || found.seq >= best.seq) {
        hi = mid - 1;
      } else if (wanted(found)) {
        best = found;
        hi = mid - 1;
      } else {
        lo = found.seq + 1;
      }
    }
    return best;
  }

  async read(channel: string, options: ReadOptions = {}): Promise<ReadResult> {
    for (let attempt = 1; ; attempt++) {
      const result = await this.#readOnce(channel, options, attempt >= READ_ATTEMPTS);
      if (result !== undefined) return result;
    }
  }

  /**
   * One read of the channel's retained records. A trim (by another node's publishes) may drop
   * records while this reads them one after the other: the records then jump over a hole.
   * Resolves `undefined` then (the caller reads again), or, on the `last` attempt, with the
   * contiguous records after the hole and `oldest` there (the hub reports the window gap honestly).
   */
  async #readOnce(channel: string, options: ReadOptions, lastAttempt: boolean): Promise<ReadResult | undefined> {
    const subject = this.#names.log(channel);
    const last = await this.#log.last(subject);
    if (last === undefined) {
      const epoch = await this.#emptyEpoch(channel);
      return { messages: [], position: { epoch, offset: 0 }, oldest: 1 };
    }
    const { epoch, offset: top } = last;
    const position = { epoch, offset: top };
    const policy = this.#policy(channel);
    const cutoff = policy.ttl > 0 ? this.#clock.now() - policy.ttl * 1000 : -Infinity;
    const lowest = Math.max(1, top - policy.size + 1);
    // A record is retained when its last message is (a record of several may start before `lowest`).
    const retained = (r: Record): boolean => r.epoch === epoch && r.offset >= lowest && r.time > cutoff;
    if (!retained(last)) return { messages: [], position, oldest: top + 1 };
    // Usually the channel's first record is retained (trims keep up): one read, no search.
    const head = await this.#log.next(subject, 1);
    const first = head !== undefined && retained(head) ? head : await this.#first(subject, last, retained, (head?.seq ?? 0) + 1);
    let oldest = Math.max(firstOffset(first), lowest);
    const { since } = options;
    let after = oldest - 1;
    if (since !== undefined && since.epoch === epoch && since.offset >= oldest - 1 && since.offset <= top) after = since.offset;
    let limit = Math.min(options.limit ?? Number.MAX_SAFE_INTEGER, policy.size, top - after);
    const messages: BrokerMessage[] = [];
    if (limit <= 0) return { messages, position, oldest };
    let record: Record | undefined = holds(first, after + 1)
      ? first
      : holds(last, after + 1)
        ? last
        : await this.#start(channel, subject, last, after, retained);
    /** Takes the record's messages that come next (after `after` and what was taken); false at a hole. */
    const take = (r: Record): boolean => {
      const start = firstOffset(r);
      for (let i = 0; i < r.jsons.length && messages.length < limit; i++) {
        const offset = start + i;
        if (offset <= after + messages.length) continue;
        if (offset !== after + messages.length + 1) return false;
        messages.push({ channel, epoch, offset, time: r.time, json: r.jsons[i]! });
      }
      return true;
    };
    /**
     * On the last attempt, at a hole: drop what was taken and start again at `r`, with `oldest` there
     * (the messages before it were trimmed during the read; the hub reports a window gap).
     */
    const restartAt = (r: Record): void => {
      messages.length = 0;
      oldest = Math.max(firstOffset(r), lowest);
      after = oldest - 1;
      limit = Math.min(options.limit ?? Number.MAX_SAFE_INTEGER, policy.size, top - after);
      take(r);
    };
    if (record !== undefined && limit > BATCH_FROM && record.seq < last.seq) {
      // Many records: read them in batches through a consumer, then go on one by one from where it ended.
      const batch = await this.#log.range(subject, record.seq, last.seq, limit).catch(() => []);
      let taken: Record | undefined;
      for (const r of batch) {
        if (r.epoch !== epoch || r.offset <= after) break;
        if (!take(r)) {
          if (!lastAttempt) return undefined;
          restartAt(r);
        }
        taken = r;
        if (messages.length >= limit) break;
      }
      if (taken !== undefined) {
        if (messages.length >= limit || taken.seq >= last.seq) return { messages, position, oldest };
        record = await this.#log.next(subject, taken.seq + 1);
      }
    }
    for (let step = 0; record !== undefined && messages.length < limit && step < limit * 2 + 16; step++) {
      if (record.seq > last.seq) break;
      if (record.epoch === epoch && record.offset > after + messages.length) {
        if (!take(record)) {
          // A hole: the records before this one were trimmed while this read went on.
          if (!lastAttempt) return undefined;
          restartAt(record);
        }
        for (let offset = firstOffset(record); offset <= record.offset; offset++) this.#remember(channel, epoch, offset, record.seq);
      }
      if (record.seq === last.seq) break;
      record = await this.#log.next(subject, record.seq + 1);
    }
    if (messages.length < limit) {
      // The walk ended before the channel's last record (a get found nothing while a trim ran):
      // read again; the last attempt ends with the last record, which it has.
      if (!lastAttempt) return undefined;
      if (!take(last)) restartAt(last);
    }
    return { messages, position, oldest };
  }

  /** The record holding offset `after + 1`: from a remembered sequence when this node has one, else by a search. */
  async #start(channel: string, subject: string, last: Record, after: number, retained: (r: Record) => boolean): Promise<Record> {
    const known = this.#seqs.get(channel);
    if (known !== undefined && known.epoch === last.epoch) {
      const seq = known.offsets.get(after + 1) ?? (known.offsets.has(after) ? known.offsets.get(after)! + 1 : undefined);
      if (seq !== undefined) {
        const record = await this.#log.next(subject, seq);
        // (A record's offsets are remembered together: when `after` is and `after + 1` is not, `after` ends its record.)
        if (record !== undefined && record.epoch === last.epoch && holds(record, after + 1)) return record;
      }
    }
    return this.#first(subject, last, (r) => retained(r) && r.offset > after);
  }

  /**
   * Waits until the server has what this connection sent (a `PING`/`PONG`), within the command
   * timeout: while NATS is unreachable the client would hold it until it reconnects.
   */
  async #flush(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#nc.flush(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new NatsLogError('NATS did not answer in time')), this.#timeout);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Remembers a channel's last record (at most {@link SEQ_CHANNELS} channels, the oldest forgotten first). */
  #setTail(channel: string, tail: Tail): void {
    // Re-inserted, so a channel in use stays at the end of the insertion order.
    this.#tails.delete(channel);
    this.#tails.set(channel, tail);
    if (this.#tails.size > SEQ_CHANNELS) this.#tails.delete(this.#tails.keys().next().value!);
  }

  /** Channels whose last record, and whose recent offsets' sequences, this node remembers (tests: both stay bounded). */
  get cachedChannels(): { readonly tails: number; readonly seqs: number } {
    return { tails: this.#tails.size, seqs: this.#seqs.size };
  }

  /** Remembers the stream sequence of a channel's offset (bounded per channel and in channels). */
  #remember(channel: string, epoch: string, offset: number, seq: number): void {
    let known = this.#seqs.get(channel);
    if (known === undefined || known.epoch !== epoch) {
      known = { epoch, offsets: new Map() };
      this.#seqs.set(channel, known);
      if (this.#seqs.size > SEQ_CHANNELS) this.#seqs.delete(this.#seqs.keys().next().value!);
    }
    known.offsets.set(offset, seq);
    if (known.offsets.size > SEQS_PER_CHANNEL) known.offsets.delete(known.offsets.keys().next().value!);
  }

  async position(channel: string): Promise<Position> {
    const last = await this.#log.last(this.#names.log(channel));
    return last === undefined ? { epoch: await this.#emptyEpoch(channel), offset: 0 } : { epoch: last.epoch, offset: last.offset };
  }

  async subscribe(channel: string): Promise<void> {
    if (this.#live.has(channel)) return;
    const subscription = this.#nc.subscribe(this.#names.live(channel), { callback: (error, msg) => this.#onLive(error, msg) });
    this.#live.set(channel, subscription);
    try {
      // The subscription is in place on the server once this returns: no later publish is missed.
      await this.#flush();
    } catch (error) {
      this.#live.delete(channel);
      subscription.unsubscribe();
      throw error;
    }
  }

  async unsubscribe(channel: string): Promise<void> {
    const subscription = this.#live.get(channel);
    if (subscription === undefined) return;
    this.#live.delete(channel);
    subscription.unsubscribe();
    await this.#flush();
  }

  async publishPresenceEvent(event: PresenceEvent): Promise<void> {
    this.#nc.publish(this.#names.live(event.channel), `p${JSON.stringify(event)}`);
    await this.#flush();
  }

  async renewEpoch(channel: string, seen: Position): Promise<void> {
    const subject = this.#names.log(channel);
    await this.#serially(channel, async () => {
      for (let attempt = 0; attempt < PUBLISH_ATTEMPTS; attempt++) {
        const tail = await this.#tail(channel, true);
        if (tail.epoch !== seen.epoch) return;
        const epoch = newEpoch();
        try {
          const ack = await this.#js.publish(subject, recordBody(0, epoch, this.#clock.now(), ['']), {
            expect: { lastSubjectSequence: tail.seq },
            // One id per renewed position, as appends have (nats-server#4320): of two nodes renewing
            // the same position on a clustered stream, one stores its marker, the other is answered
            // `duplicate` and finds the epoch changed when it reloads the tail.
            msgID: `renew.${tail.epoch}.${tail.offset}.${channelToken(channel)}`,
          });
          if (ack.duplicate) continue;
          this.#setTail(channel, { seq: ack.seq, epoch, offset: 0 });
          await this.#log.purgeBefore(subject, ack.seq);
          return;
        } catch (error) {
          if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamWrongLastSequence)) throw error;
        }
      }
    });
  }

  async publishControl(payload: string): Promise<void> {
    this.#nc.publish(this.#names.control, payload);
    await this.#flush();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#probe);
    this.#control.unsubscribe();
    this.#live.clear();
    // A publish in flight gets its answer (stored or not) before the connection goes, within the
    // command timeout: closing under it would fail a publish that NATS may still store.
    if (this.#inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(this.#inFlight),
        new Promise((resolve) => {
          timer = setTimeout(resolve, this.#timeout * 2);
        }),
      ]);
      clearTimeout(timer);
    }
    await disconnect(this.#nc);
  }

  #onLive(error: Error | null, msg: Msg): void {
    const handler = this.#handler;
    if (error !== null || handler === undefined || this.#closed) return;
    const channel = tokenChannel(msg.subject.slice(this.#names.livePrefix.length));
    if (!this.#live.has(channel)) return;
    const body = msg.string();
    if (body.startsWith('p')) {
      const event = parsePresenceEvent(body.slice(1));
      if (event !== undefined && event.channel === channel) handler.onPresenceEvent(event);
      return;
    }
    const record = parseBody(0, body);
    // Offset 0: an epoch marker, not a message.
    if (record === undefined || record.offset === 0) return;
    // The stream's republish names the stored record's sequence.
    const seq = Number(msg.headers?.get('Nats-Sequence'));
    const first = firstOffset(record);
    if (Number.isSafeInteger(seq) && seq > 0) {
      for (let offset = first; offset <= record.offset; offset++) this.#remember(channel, record.epoch, offset, seq);
    }
    // All of a record's messages in this turn: the hub writes them to each socket together.
    record.jsons.forEach((json, i) => handler.onMessage({ channel, epoch: record.epoch, offset: first + i, time: record.time, json }));
  }
}

/** Whether the record holds the message of `offset`. */
function holds(record: Record, offset: number): boolean {
  return firstOffset(record) <= offset && offset <= record.offset;
}

/**
 * Raises the max age of an existing bucket's stream to `seconds` when it is shorter: creating a
 * bucket that exists keeps its configuration, and keys would expire before `idempotencyTtl` after
 * an operator raised it. Never lowers it (other nodes may still run with the longer one).
 */
async function raiseMaxAge(log: ChannelLog, stream: string, seconds: number): Promise<void> {
  const info = await log.manager.streams.info(stream);
  const wanted = nanos(Math.round(seconds * 1000));
  if (info.config.max_age > 0 && info.config.max_age < wanted) await log.manager.streams.update(stream, { max_age: wanted });
}

/** Errors of appends that got no answer: they may be stored. */
const uncertain = new WeakSet<object>();

function tagHeaders(tag: string): ReturnType<typeof headers> {
  const h = headers();
  h.set(TAG_HEADER, tag);
  return h;
}

/** The publish found no stream for its subject (deleted: no responder, or the API says so). */
function noStream(error: unknown): boolean {
  // The client wraps "no responders" (as "JetStream not enabled"): look down the causes.
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e instanceof JetStreamApiError) return e.code === JetStreamApiCodes.StreamNotFound;
    if (e instanceof NoRespondersError || (e instanceof RequestError && e.isNoResponders())) return true;
  }
  return false;
}

function parsePresenceEvent(text: string): PresenceEvent | undefined {
  try {
    const event = JSON.parse(text) as Partial<PresenceEvent>;
    if ((event.type !== 'join' && event.type !== 'leave') || typeof event.channel !== 'string' || typeof event.client !== 'string')
      return undefined;
    const user = typeof event.user === 'string' ? event.user : null;
    return event.info === undefined
      ? { type: event.type, channel: event.channel, client: event.client, user }
      : { type: event.type, channel: event.channel, client: event.client, user, info: event.info };
  } catch {
    return undefined;
  }
}
