import { randomBytes } from 'node:crypto';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  DeliverPolicy,
  jetstream,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import type { Names } from './names.js';

/**
 * One stored record of a channel's subject: one message, or several consecutive ones appended
 * together (see `NatsBroker`: publishes that queued behind a channel's append in flight go in the
 * next one). Its body is `<offset> <epoch> <time> <envelope>` for one message and
 * `<first>-<last> <epoch> <time> <length>,<length>,… <envelope><envelope>…` (lengths in UTF-16
 * code units) for several, so every reader (and every live receiver of the stream's republished
 * copy) has the positions without parsing the envelopes. An epoch marker (see
 * `NatsBroker.renewEpoch`) has offset 0 and no envelope.
 */
export interface Record {
  /** The stream sequence (global to the stream). */
  readonly seq: number;
  /** The offset of the record's last message (its first is `offset - jsons.length + 1`). */
  readonly offset: number;
  readonly epoch: string;
  readonly time: number;
  /** The envelopes of its messages, in offset order (one, empty, for an epoch marker). */
  readonly jsons: readonly string[];
  /** The reservation tag of an idempotent publish (header {@link TAG_HEADER}), when it carries one (such a record holds one message). */
  readonly tag?: string;
}

/** The offset of a record's first message. */
export function firstOffset(record: Record): number {
  return record.offset - record.jsons.length + 1;
}

/** The header an idempotent publish's record carries its reservation's tag in. */
export const TAG_HEADER = 'Herald-Reservation';

/** Parses a record body; `undefined` when it is not one. */
export function parseBody(seq: number, body: string): Record | undefined {
  const a = body.indexOf(' ');
  const b = body.indexOf(' ', a + 1);
  const c = body.indexOf(' ', b + 1);
  if (a <= 0 || b <= a || c <= b) return undefined;
  const time = Number(body.slice(b + 1, c));
  if (!Number.isFinite(time)) return undefined;
  const epoch = body.slice(a + 1, b);
  const dash = body.indexOf('-', 1);
  if (dash < 0 || dash > a) {
    const offset = Number(body.slice(0, a));
    if (!Number.isSafeInteger(offset) || offset < 0) return undefined;
    return { seq, offset, epoch, time, jsons: [body.slice(c + 1)] };
  }
  const first = Number(body.slice(0, dash));
  const offset = Number(body.slice(dash + 1, a));
  const d = body.indexOf(' ', c + 1);
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(offset) || first < 1 || offset <= first || d <= c) return undefined;
  const lengths = body.slice(c + 1, d).split(',', offset - first + 2);
  if (lengths.length !== offset - first + 1) return undefined;
  const jsons: string[] = [];
  let at = d + 1;
  for (const text of lengths) {
    const length = Number(text);
    if (!Number.isSafeInteger(length) || length < 0 || at + length > body.length) return undefined;
    jsons.push(body.slice(at, at + length));
    at += length;
  }
  return at === body.length ? { seq, offset, epoch, time, jsons } : undefined;
}

/** The body of a record of the messages `jsons` (envelopes), the first at offset `first`. */
export function recordBody(first: number, epoch: string, time: number, jsons: readonly string[]): string {
  if (jsons.length === 1) return `${first} ${epoch} ${time} ${jsons[0]}`;
  const lengths = jsons.map((json) => json.length).join(',');
  return `${first}-${first + jsons.length - 1} ${epoch} ${time} ${lengths} ${jsons.join('')}`;
}

interface MsgGetReply {
  readonly message?: { readonly seq: number; readonly data?: string; readonly hdrs?: string };
  readonly error?: { readonly code: number; readonly err_code?: number; readonly description?: string };
}

/** The stream's identity: its description (set at creation), else its creation time. */
function identityOf(info: StreamInfo): string {
  return info.config.description ?? info.created;
}

/** A stream request failed (no stream, no leader, timeout): the hub answers 503. */
export class NatsLogError extends Error {
  readonly code = 'NATS_LOG_UNAVAILABLE';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NatsLogError';
  }
}

/**
 * Stream-level access to the channel logs: creating the stream, and reading single records with
 * `STREAM.MSG.GET` (answered by the stream's leader, so a read never sees less than an acknowledged
 * publish, unlike a direct get that a lagging replica may answer).
 */
export class ChannelLog {
  readonly #nc: NatsConnection;
  readonly #names: Names;
  readonly #timeout: number;
  readonly #jsm: JetStreamManager;
  readonly #js: JetStreamClient;
  readonly #replicas: number;
  /**
   * The stream's identity, a random id the node that created it wrote into its description (the
   * same in every replica's config; each replica has its own creation time): part of every empty
   * channel's epoch, so a recreated stream starts new epochs.
   */
  #identity = '';

  private constructor(nc: NatsConnection, jsm: JetStreamManager, names: Names, timeout: number, replicas: number) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#js = jetstream(nc, { timeout });
    this.#names = names;
    this.#timeout = timeout;
    this.#replicas = replicas;
  }

  static async open(nc: NatsConnection, names: Names, timeout: number, replicas: number): Promise<ChannelLog> {
    const jsm = await jetstreamManager(nc, { timeout });
    const log = new ChannelLog(nc, jsm, names, timeout, replicas);
    await log.ensure();
    return log;
  }

  get identity(): string {
    return this.#identity;
  }

  get manager(): JetStreamManager {
    return this.#jsm;
  }

  /** Creates the stream when it does not exist; refreshes its identity. */
  async ensure(): Promise<void> {
    const name = this.#names.stream;
    try {
      this.#identity = identityOf(await this.#jsm.streams.info(name));
      return;
    } catch (error) {
      if (!(error instanceof JetStreamApiError) || error.code !== JetStreamApiCodes.StreamNotFound) throw error;
    }
    const config = {
      name,
      description: `Herald channel logs ${randomBytes(12).toString('base64url')}`,
      subjects: [`${this.#names.logPrefix}>`],
      num_replicas: this.#replicas,
      // Appends carry a message id per channel position (see NatsBroker): racing appends meet
      // within milliseconds, and a shorter window keeps the server's id table small.
      duplicate_window: nanos(10_000),
      // Stored messages are republished (in stream order, only once stored) for live delivery.
      republish: { src: `${this.#names.logPrefix}>`, dest: `${this.#names.livePrefix}>` },
    } satisfies Partial<StreamConfig>;
    try {
      this.#identity = identityOf(await this.#jsm.streams.add(config));
    } catch (error) {
      // Another node created it meanwhile (with its own description: that one stands).
      const info = await this.#jsm.streams.info(name).catch(() => {
        throw error;
      });
      this.#identity = identityOf(info);
    }
  }

  /** The channel's last record, or `undefined` when its subject is empty. */
  last(subject: string): Promise<Record | undefined> {
    return this.#get({ last_by_subj: subject });
  }

  /** The channel's first record at or after stream sequence `seq`. */
  next(subject: string, seq: number): Promise<Record | undefined> {
    return this.#get({ seq: Math.max(1, seq), next_by_subj: subject });
  }

  async #get(request: object): Promise<Record | undefined> {
    let reply: MsgGetReply;
    try {
      const msg = await this.#nc.request(`$JS.API.STREAM.MSG.GET.${this.#names.stream}`, JSON.stringify(request), {
        timeout: this.#timeout,
      });
      reply = msg.json<MsgGetReply>();
    } catch (error) {
      throw new NatsLogError('the NATS stream did not answer', { cause: error });
    }
    if (reply.error !== undefined) {
      if (reply.error.err_code === JetStreamApiCodes.NoMessageFound || reply.error.code === 404) {
        if (reply.error.err_code === JetStreamApiCodes.StreamNotFound) {
          await this.ensure();
        }
        return undefined;
      }
      throw new NatsLogError(`the NATS stream refused a read: ${reply.error.description ?? reply.error.code}`);
    }
    const message = reply.message;
    if (message === undefined) return undefined;
    const body = Buffer.from(message.data ?? '', 'base64').toString('utf8');
    const record = parseBody(message.seq, body);
    if (record === undefined) throw new NatsLogError(`stream record ${message.seq} is not a Herald record`);
    if (message.hdrs !== undefined) {
      const tag = /^Herald-Reservation:\s*(\S+)\s*$/im.exec(Buffer.from(message.hdrs, 'base64').toString('utf8'));
      if (tag !== null) return { ...record, tag: tag[1]! };
    }
    return record;
  }

  /**
   * Up to `max` records of the subject from stream sequence `from` to `last`, in order, through an
   * ordered consumer (one request per batch, not per record). May return fewer (a consumer that
   * lags behind the leader, or fails): the caller reads on from where it ended.
   */
  async range(subject: string, from: number, last: number, max: number): Promise<Record[]> {
    const records: Record[] = [];
    const consumer = await this.#js.consumers.get(this.#names.stream, {
      filter_subjects: subject,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: from,
    });
    try {
      for (let round = 0; records.length < max && round < 1000; round++) {
        const batch = await consumer.fetch({ max_messages: Math.min(max - records.length, 1000), expires: this.#timeout });
        let got = 0;
        let done = false;
        for await (const msg of batch) {
          got++;
          const record = parseBody(msg.seq, msg.string());
          if (record !== undefined && msg.seq <= last) records.push(record);
          if (msg.seq >= last || records.length >= max) {
            done = true;
            break;
          }
        }
        if (done || got === 0) break;
      }
    } catch {
      // Whatever came is in order; the caller reads the rest one record at a time.
    } finally {
      await consumer.delete().catch(() => undefined);
    }
    return records;
  }

  /** Drops the subject's records before stream sequence `seq` (never the subject's last one). */
  async purgeBefore(subject: string, seq: number): Promise<void> {
    await this.#jsm.streams.purge(this.#names.stream, { filter: subject, seq });
  }

  /** Deletes the stream (tests). */
  async destroy(): Promise<void> {
    await this.#jsm.streams.delete(this.#names.stream);
  }
}
