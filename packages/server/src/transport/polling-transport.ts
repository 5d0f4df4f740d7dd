import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  encodeCursor,
  encodePosition,
  ErrorCode,
  MAX_HISTORY_LIMIT,
  MAX_PIN_LOOKBACK_MS,
  type CursorEntry,
  type Position,
  type WireError,
} from '@herald/protocol';
import type { CursorSigner } from '../auth/cursor-signer.js';
import type { Identity } from '../auth/identity.js';
import type { Security } from '../auth/security.js';
import type { Clock } from '../clock.js';
import { toWireError } from '../errors.js';
import { channelRefusal } from './channel-refusal.js';
import { boundedMap, HOOK_CALLS_PER_REQUEST } from '../hooks/bounded-map.js';
import { checkUnlessHooked, hookDecides, subscribeInfo } from '../hooks/client-decisions.js';
import type { Hub, ReadOutcome } from '../hub/hub.js';
import type { HubMessage } from '../hub/hub-message.js';
import { readChannelQuery } from '../http/channel-query.js';
import { readFormatQuery } from '../http/format-query.js';
import { compactDeltaJson, compactDeltaPollNext, compactJson, compactPollNext, variantOf } from './compact-encodings.js';
import { connectionGone, sendBounded } from '../http/connection-budget.js';
import { sendError } from '../http/respond.js';
import type { ConnectionSlot, Refusal } from './connection-limiter.js';
import { ExpiryTimer } from './expiry-timer.js';
import { messagesJson } from './messages-json.js';
import { pollDeltas, pollItems, pollSequence, type PollDeltas } from './poll-deltas.js';
import { PollMessages } from './poll-messages.js';
import { deltaFrames } from './delta-frames.js';
import { gapFields, signedEncodings, type SignedEncodings } from './signed-json.js';
import { AnswerCache } from './answer-cache.js';
import { pickCoding, varyOnEncoding } from './accept-encoding.js';
import type { CompressionSettings } from './compression-options.js';
import { compressBody } from './http-compression.js';
import { capRead } from './read-cap.js';
import { nextSessionId } from './session-id.js';
import type { PollerPresence, PollerSession } from './poller-presence.js';
import type { ConnectionInfo, ConnectionMatch, Transport } from './transport.js';

/** Longest `lookback` on a channel whose history the client may not read: it only covers travel time. */
export const MAX_RESTRICTED_LOOKBACK_MS = 2000;
/** Most messages a pin reports per channel. */
export const MAX_PIN_MARKS = 200;

/** Options of {@link PollingTransport}. */
export interface PollingTransportOptions {
  readonly maxChannels: number;
  /** Longest `wait` a request may ask for, in seconds. */
  readonly maxWait: number;
  /** Bytes of message JSON one answer may carry (at least one message always goes). */
  readonly maxResponseBytes: number;
  /** Bytes of answers one HTTP connection may have waiting before it is cut. */
  readonly sendQueueBytes: number;
  /** The wall clock, for token expiry and a pin's `now` (the clock the engine stamps messages with). */
  readonly clock: Clock;
  /** Takes a connection slot for a request about to be held, or says why not. */
  readonly hold: (req: IncomingMessage, identity: Identity) => ConnectionSlot | Refusal;
  /** gzip or br for clients that accept it, when `compression.http` is on. @default off */
  readonly compression?: CompressionSettings | undefined;
  /** The polling sessions that are presence members (polls with `session`); none: `session` is ignored. */
  readonly presence?: PollerPresence | undefined;
}

/** The polling session of one poll, and whether its answer hands the session's token out. */
interface Poller {
  readonly session: PollerSession;
  issued: boolean;
}

/** Where an answer brings each channel (its cursor's positions). */
type Answered = (channel: string) => Position | undefined;

const NO_CHANNELS: ReadonlySet<string> = new Set();

interface Waiting {
  finish(): void;
  /** The polling session of the held poll, if any. */
  readonly session: PollerSession | undefined;
  /** Answers the held poll with `error` now (its session was disconnected). */
  cut(error: WireError): void;
}

const DISCONNECTED: WireError = { code: ErrorCode.Disconnected, message: 'disconnected by the server' };

const encodeNext = (message: HubMessage): Buffer =>
  Buffer.from(`{"messages":[${message.json}],"cursor":"${encodePosition(message.channel, message)}"}`);

/** Which channels of a request get signed positions (the client may not read their history). */
interface Signing {
  readonly signer: CursorSigner;
  readonly encodings: SignedEncodings;
  readonly channels: ReadonlySet<string>;
}

function parseNumber(params: URLSearchParams, name: string, min: number, max: number, integer: boolean): number | WireError | undefined {
  const text = params.get(name);
  if (text === null || text === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    return { code: ErrorCode.InvalidField, message: `${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}` };
  }
  return value;
}

/**
 * Polling at `GET /api/messages`: stateless reads of the logs, so any node can answer any request.
 * With `wait`, a request that finds nothing new is held until a message arrives on one of its
 * channels (answered within the same event-loop turn) or the wait ends.
 */
export class PollingTransport implements Transport {
  readonly name = 'polling';
  readonly #hub: Hub;
  readonly #options: PollingTransportOptions;
  readonly #waiting = new Set<Waiting>();
  readonly #security: Security;
  readonly #answers = new AnswerCache();
  /** The messages of delta channels polls were answered with, shared with their deltas (see {@link PollMessages}). */
  readonly #pollMessages: PollMessages;

  constructor(hub: Hub, options: PollingTransportOptions, security: Security) {
    this.#security = security;
    this.#hub = hub;
    this.#pollMessages = new PollMessages(hub);
    this.#options = options;
  }

  /** Requests currently held. */
  get size(): number {
    return this.#waiting.size;
  }

  /**
   * Answers one poll for `identity` (authenticated by the caller), checking `op` on every channel.
   * A channel whose history the client may not read starts at its current end when no `since` is
   * given, resumes only from a position the hub signed, and gets signed positions back. A poll's
   * channels a subscribe hook decides are asked of the app (at once, under the request's id `client`,
   * else a fresh one: polling keeps no session) on every poll, once the hub's own checks passed, unless an allow is cached
   * (`cacheTtl`); the first refused channel fails the poll, and the error names it (`channel`).
   */
  async handle(
    req: IncomingMessage,
    res: ServerResponse,
    params: URLSearchParams,
    identity: Identity,
    op: 'subscribe' | 'history',
    headers: Record<string, string>,
    client?: string,
  ): Promise<void> {
    const query = readChannelQuery(params, this.#options.maxChannels);
    if (!query.ok) return sendError(res, query.error, headers);
    const security = this.#security;
    const { channels, fromNow } = query.value;
    const format = readFormatQuery(params);
    if (!format.ok) return sendError(res, format.error, headers);
    const restricted = new Set<string>();
    const asked = new Map<string, Position>();
    // A poll with `session` (not a pin) makes its session a presence member of its channels.
    const presence = op === 'subscribe' && !params.has('lookback') ? this.#options.presence : undefined;
    const token = presence === undefined ? null : params.get('session');
    const joinLeave = token === null ? NO_CHANNELS : joinLeaveOf(params.get('joinLeave'), channels);
    let poller: Poller | undefined;
    let infos: Map<string, unknown> | undefined;
    let refusal: WireError | undefined;
    try {
      for (const channel of channels) {
        try {
          if (op === 'subscribe') checkUnlessHooked(security, identity, op, channel);
          else security.permissions.check(identity, op, channel);
          // Joins and leaves name the channel's members: the same right as reading its presence.
          if (joinLeave.has(channel)) security.permissions.check(identity, 'presence', channel);
          if (security.signsFor(identity, channel)) restricted.add(channel);
          const from = security.resumeFrom(identity, channel, query.value.since?.get(channel));
          if (from !== undefined) asked.set(channel, from);
        } catch (error) {
          // The poll is refused whole (a raw poller never misses a channel silently), naming the channel.
          refusal = channelRefusal(error, channel);
          break;
        }
      }
      if (refusal === undefined && token !== null && presence !== undefined)
        poller = presence.session(token, identity.user, req.socket.remoteAddress);
      if (refusal === undefined && op === 'subscribe') {
        const hooks = await this.#askHooks(identity, channels, poller?.session.client ?? client ?? nextSessionId());
        if (hooks instanceof Map) infos = hooks;
        else refusal = hooks?.refused;
      }
    } catch (error) {
      refusal = toWireError(error);
    }
    if (refusal !== undefined) {
      if (poller !== undefined) presence?.release(poller.session);
      return sendError(res, refusal, headers);
    }
    // A bad parameter fails the poll before its session is a member.
    const refuse = (error: WireError): void => {
      if (poller !== undefined) presence?.release(poller.session);
      sendError(res, error, headers);
    };
    const askedWait = parseNumber(params, 'wait', 0, this.#options.maxWait, false) ?? 0;
    // A new session's token, or joins or leaves waiting for the session: answer at once.
    const wait = typeof askedWait === 'number' && (poller?.issued === true || poller?.session.pending === true) ? 0 : askedWait;
    if (typeof wait === 'object') return refuse(wait);
    const limit = parseNumber(params, 'limit', 1, MAX_HISTORY_LIMIT, true) ?? MAX_HISTORY_LIMIT;
    if (typeof limit === 'object') return refuse(limit);
    const signing: Signing | undefined =
      restricted.size === 0 ? undefined : { signer: security.cursors, encodings: signedEncodings(security.cursors), channels: restricted };
    const lookback = parseNumber(params, 'lookback', 0, MAX_PIN_LOOKBACK_MS, true);
    if (typeof lookback === 'object') return sendError(res, lookback, headers);
    if (lookback !== undefined) {
      if (!fromNow || wait > 0)
        return sendError(res, { code: ErrorCode.InvalidField, message: 'lookback goes with since=now and no wait' }, headers);
      return this.#pin(res, channels, lookback, signing, headers);
    }
    if (poller !== undefined && presence !== undefined) {
      poller.session.joinLeave = joinLeave;
      await presence.seen(poller.session, channels, infos, identity.info);
    }

    try {
      const single = channels.length === 1 ? channels[0] : undefined;
      let since: Map<string, Position> | undefined = query.value.since === undefined ? undefined : asked;
      // From now: asked for, or the first poll of a client that may not read what came before.
      const startNow = fromNow ? channels : channels.filter((channel) => restricted.has(channel) && !asked.has(channel));
      if (startNow.length > 0) {
        since ??= new Map();
        const positions = await Promise.all(startNow.map(async (channel) => [channel, await this.#hub.position(channel)] as const));
        for (const [channel, position] of positions) since.set(channel, position);
      }
      // Compact items name a channel by its index; an item carries the epoch when the request's position had another.
      const compact: Compact | undefined =
        format.value === 'compact' ? { refs: new Map(channels.map((c, i) => [c, i])), told: new Map(since ?? []) } : undefined;
      // In compact, a delta is the compact delta item (`-ref-1`, the delta in place of the data).
      const deltas = pollDeltas(this.#hub, this.#pollMessages, params, channels, asked, restricted);
      if (wait === 0) {
        const reads = await this.#readAll(channels, since, limit, signing);
        return this.#send(res, reads, headers, signing, poller, deltas, compact);
      }
      // Under load most polls find messages already waiting: one read answers them, before a
      // connection slot, a listener, a timer and the closures of a held poll are set up (the
      // common case: one channel, resuming from a cursor).
      if (single !== undefined && query.value.since !== undefined && startNow.length === 0) {
        const read = await this.#hub.read(single, since?.get(single), limit, { signed: signing !== undefined });
        if (read.messages.length > 0 || read.gap !== undefined) return this.#sendOne(res, read, headers, signing, poller, deltas, compact);
      }
      await this.#longPoll(
        req,
        res,
        identity,
        channels,
        since ?? new Map<string, Position>(),
        limit,
        wait,
        headers,
        signing,
        poller,
        deltas,
        compact,
      );
    } catch (error) {
      sendError(res, toWireError(error), headers);
    }
  }

  /**
   * A pin (`since=now&lookback=ms`): the end of every channel's log, the hub's clock, and the
   * messages each channel stored within the last `lookback` ms (offset, time, and the cursor just
   * before each, no data), so a client that subscribed at a moment it can place on the hub's clock
   * starts exactly there, whatever the request's travel time.
   */
  async #pin(
    res: ServerResponse,
    channels: readonly string[],
    lookback: number,
    signing: Signing | undefined,
    headers: Record<string, string>,
  ): Promise<void> {
    try {
      const now = this.#options.clock.now();
      const pins = await Promise.all(
        channels.map(async (channel) => {
          const back = signing?.channels.has(channel) === true ? Math.min(lookback, MAX_RESTRICTED_LOOKBACK_MS) : lookback;
          return { channel, ...(await this.#hub.recent(channel, now - back, MAX_PIN_MARKS)) };
        }),
      );
      const positions = new Map<string, CursorEntry>();
      const recent: string[] = [];
      for (const { channel, position, messages } of pins) {
        positions.set(channel, handOut(channel, position, signing));
        for (const m of messages) {
          const before = encodePosition(channel, handOut(channel, { epoch: m.epoch, offset: m.offset - 1 }, signing));
          recent.push(`{"channel":${JSON.stringify(channel)},"offset":${m.offset},"time":${m.time},"cursor":"${before}"}`);
        }
      }
      this.#answer(res, `{"messages":[],"cursor":"${encodeCursor(positions)}","now":${now},"recent":[${recent.join(',')}]}`, headers);
    } catch (error) {
      sendError(res, toWireError(error), headers);
    }
  }

  /**
   * Asks the subscribe hook about every channel it decides, {@link HOOK_CALLS_PER_REQUEST} at a
   * time; after a refusal or failure no other channel is asked. Resolves with the infos, or the
   * first channel's refusal (naming the channel when the app refused it, see {@link channelRefusal}).
   */
  async #askHooks(
    identity: Identity,
    channels: readonly string[],
    client: string,
  ): Promise<Map<string, unknown> | { refused: WireError } | undefined> {
    const security = this.#security;
    const hooked = channels.filter((channel) => hookDecides(security, identity, 'subscribe', channel));
    if (hooked.length === 0) return undefined;
    const context = { transport: 'polling', client } as const;
    const results = await boundedMap(
      hooked,
      HOOK_CALLS_PER_REQUEST,
      (channel) =>
        subscribeInfo(security, identity, context, channel).then(
          (info) => ({ refused: false as const, channel, info }),
          (error: unknown) => ({ refused: true as const, error: channelRefusal(error, channel) }),
        ),
      (result) => result.refused,
    );
    const infos = new Map<string, unknown>();
    for (const result of results) {
      if (result?.refused === true) return { refused: result.error };
      if (result !== undefined && result.info !== undefined) infos.set(result.channel, result.info);
    }
    return infos;
  }

  /**
   * Ends the polling sessions (`session`) `match` names: they leave their channels at once, a held
   * poll of theirs is answered `403`, code 2003, and so is their next poll (see
   * `PollerPresence.disconnect`); returns how many. Polls without a session hold no connection:
   * nothing to end (each request is identified afresh).
   */
  disconnect(match: ConnectionMatch): number {
    const ended = this.#options.presence?.disconnect(match) ?? [];
    if (ended.length === 0) return 0;
    const sessions = new Set(ended);
    for (const waiting of [...this.#waiting]) if (waiting.session !== undefined && sessions.has(waiting.session)) waiting.cut(DISCONNECTED);
    return ended.length;
  }

  /** None: a poll is a request, not a connection (held polls are counted in {@link size}). */
  list(): ConnectionInfo[] {
    return [];
  }

  /** Nothing to do: a held request is answered by its own `wait` or at {@link close}. */
  drain(): void {}

  /** Nothing to drop: held requests are plain HTTP requests, cut with their connections. */
  dropAll(): void {}

  /**
   * Sends an answer (bounded like every answer on the connection), compressed with br or gzip when
   * HTTP compression is on, the request accepts one and the body has at least `threshold` bytes.
   * A shared body (a message's answer, a kept one) is compressed once per coding ({@link compressBody}).
   */
  #answer(res: ServerResponse, body: string | Buffer, headers: Record<string, string>): void {
    const compression = this.#options.compression;
    if (compression?.http !== true) {
      sendBounded(res, body, headers, this.#options.sendQueueBytes);
      return;
    }
    const vary = varyOnEncoding(headers);
    const coding = pickCoding(res.req.headers['accept-encoding'], true);
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const compressed =
      coding === undefined || bytes.length < compression.threshold ? undefined : compressBody(bytes, coding, compression.level);
    if (compressed === undefined) sendBounded(res, bytes, vary, this.#options.sendQueueBytes);
    else sendBounded(res, compressed, { ...vary, 'Content-Encoding': coding! }, this.#options.sendQueueBytes);
  }

  /** Answers every held request now with what it has (shutdown). */
  close(): void {
    for (const waiting of this.#waiting) waiting.finish();
    this.#options.presence?.close();
  }

  /** A held poll of `session` ended (answered or gone): its channels were seen until now. */
  #unhold(session: PollerSession, wake: () => void, channels: readonly string[]): void {
    session.held--;
    if (session.wake === wake) session.wake = undefined;
    const presence = this.#options.presence;
    if (presence === undefined) return;
    void presence.seen(session, channels);
    presence.release(session);
  }

  /**
   * What an answer adds for its polling session: its token when the answer hands it out, and the
   * joins and leaves it may carry now (see `PollerSession.drain`).
   */
  #extras(poller: Poller | undefined, answered: Answered): string {
    if (poller === undefined) return '';
    let extras = poller.issued ? `,"session":"${poller.session.token}"` : '';
    poller.issued = false;
    const events = poller.session.drain(answered);
    if (events.length > 0) extras += `,"presence":[${events.join(',')}]`;
    return extras;
  }

  /** Sends the reads, cut to `maxResponseBytes`, unless the connection is gone or has too much waiting. */
  #send(
    res: ServerResponse,
    reads: readonly ReadOutcome[],
    headers: Record<string, string>,
    signing: Signing | undefined,
    poller: Poller | undefined,
    deltas?: PollDeltas,
    compact?: Compact,
  ): void {
    if (connectionGone(res)) return;
    const extras = poller === undefined ? undefined : (answered: Answered): string => this.#extras(poller, answered);
    this.#answer(res, responseBody(reads, this.#options.maxResponseBytes, signing, extras, deltas, compact), headers);
  }

  /**
   * Sends the answer to a read of one channel. Answers without a gap or signatures are kept (see
   * {@link AnswerCache}): the polls of a busy channel mostly ask from the same few positions.
   */
  #sendOne(
    res: ServerResponse,
    whole: ReadOutcome,
    headers: Record<string, string>,
    signing: Signing | undefined,
    poller: Poller | undefined,
    deltas: PollDeltas | undefined,
    compact: Compact | undefined,
  ): void {
    if (connectionGone(res)) return;
    if (signing !== undefined || whole.gap !== undefined || deltas !== undefined || compact !== undefined)
      return this.#send(res, [whole], headers, signing, poller, deltas, compact);
    const { read } = capRead(whole, this.#options.maxResponseBytes, true);
    let body = this.#answers.get(read);
    if (body === undefined) {
      body = Buffer.from(
        `{"messages":${messagesJson(read.messages)},"cursor":"${encodePosition(read.channel, read.position)}"${read.more ? ',"more":true' : ''}}`,
      );
      this.#answers.set(read, body);
    }
    const extras = this.#extras(poller, (channel) => (channel === read.channel ? read.position : undefined));
    this.#answer(res, withExtras(body, extras), headers);
  }

  #readAll(
    channels: readonly string[],
    since: Map<string, Position> | undefined,
    limit: number,
    signing: Signing | undefined,
  ): Promise<ReadOutcome[]> {
    return Promise.all(
      channels.map((channel) => this.#hub.read(channel, since?.get(channel), limit, { signed: signing?.channels.has(channel) === true })),
    );
  }

  async #longPoll(
    req: IncomingMessage,
    res: ServerResponse,
    identity: Identity,
    channels: string[],
    since: Map<string, Position>,
    limit: number,
    wait: number,
    headers: Record<string, string>,
    signing: Signing | undefined,
    poller: Poller | undefined,
    deltas: PollDeltas | undefined,
    compact: Compact | undefined,
  ): Promise<void> {
    // A held request holds a socket like a stream does: it counts against the same limits.
    const slot = this.#options.hold(req, identity);
    if ('refused' in slot) {
      // Closed after the answer: a refused client must not keep holding the descriptor either.
      return sendError(res, { code: slot.code, message: slot.refused }, { ...headers, Connection: 'close' });
    }
    let done = false;
    let reading = false;
    let stale = false;
    const handles: { timer?: NodeJS.Timeout; expiry?: ExpiryTimer; stopListening?: () => void } = {};
    const single = channels.length === 1 ? channels[0]! : undefined;
    const session = poller?.session;
    const waiting: Waiting = {
      finish: () => respond(undefined),
      session,
      cut: (error) => {
        if (done) return;
        cleanup();
        sendError(res, error, headers);
      },
    };
    let unheld = false;
    const cleanup = (): void => {
      done = true;
      slot.release();
      clearTimeout(handles.timer);
      handles.expiry?.cancel();
      handles.stopListening?.();
      this.#waiting.delete(waiting);
      if (session !== undefined && !unheld) {
        unheld = true;
        this.#unhold(session, wake, channels);
      }
    };
    const respond = (reads: ReadOutcome[] | undefined): void => {
      if (done) return;
      cleanup();
      if (reads !== undefined) return this.#send(res, reads, headers, signing, poller, deltas, compact);
      // Not into a response nobody reads: the session's events wait for its next poll.
      if (poller !== undefined && connectionGone(res)) return;
      const body = emptyBody(channels, since, signing);
      this.#answer(
        res,
        withExtras(
          body,
          this.#extras(poller, (channel) => since.get(channel)),
        ),
        headers,
      );
    };
    const expire = (): void => {
      if (done) return;
      cleanup();
      sendError(res, { code: ErrorCode.TokenExpired, message: 'token expired' }, headers);
    };
    // `force`: answer even with nothing new (a join or leave for this session is waiting).
    let forced = false;
    const check = (force = false): void => {
      if (done) return;
      forced ||= force;
      if (reading) {
        stale = true;
        return;
      }
      reading = true;
      stale = false;
      this.#readAll(channels, since, limit, signing).then(
        (reads) => {
          reading = false;
          if (forced || reads.some((r) => r.messages.length > 0 || r.gap !== undefined)) respond(reads);
          else if (stale) check();
        },
        (error: unknown) => {
          reading = false;
          if (done) return;
          cleanup();
          sendError(res, toWireError(error), headers);
        },
      );
    };
    const onMessage = (message: HubMessage): void => {
      if (done) return;
      // Kept as the instance a later batch read shares: its delta is built once, and it is the base the next poll holds.
      // (Once per message: every other held poll it wakes finds it kept.)
      if (deltas?.channels.has(message.channel) === true) deltas.messages.keepLive(message);
      // The common case (one channel, exactly the next message) shares one body among all waiters.
      const at = single === undefined ? undefined : since.get(single);
      if (at !== undefined && at.epoch === message.epoch && at.offset + 1 === message.offset && !reading && !forced) {
        cleanup();
        const signed = signing?.encodings;
        // A client that holds the message before gets the delta (built once, and its base looked up
        // once, shared by every such waiter).
        const held = deltas?.held.get(single!);
        const holds = held?.epoch === at.epoch && held.offset === at.offset && deltas!.messages.followsLive(message);
        const body =
          compact !== undefined
            ? ((holds ? compactDeltaPollNext(message, 0, variantOf(false, signed !== undefined), signed) : undefined) ??
              compactPollNext(message, 0, variantOf(false, signed !== undefined), signed))
            : ((holds ? deltaFrames.pollNext(message, signed) : undefined) ??
              (signed === undefined ? message.encoded('poll', encodeNext) : signed.pollNext(message)));
        const extras = this.#extras(poller, (channel) => (channel === single ? message : undefined));
        this.#answer(res, withExtras(body, extras), headers);
        return;
      }
      check();
    };
    const wake = (): void => check(true);
    if (session !== undefined) {
      session.held++;
      session.wake = wake;
    }

    res.on('close', cleanup);
    // Listen before the first read, so a message published in between wakes this request.
    const stopListening = await this.#hub.listen(channels, onMessage);
    if (done) return stopListening();
    handles.stopListening = stopListening;
    this.#waiting.add(waiting);
    // Disconnected while this poll was being set up: not held.
    if (session?.ended === true) return waiting.cut(DISCONNECTED);
    // Ends with 2002 at the token's expiry when that comes first, as an SSE stream would.
    // (`wait` is at most `maxWait`, which a timer can wait for.)
    const { expiresAt } = identity;
    if (expiresAt !== undefined && expiresAt - this.#options.clock.now() < wait * 1000)
      handles.expiry = new ExpiryTimer(this.#options.clock, expiresAt, expire);
    else handles.timer = setTimeout(() => respond(undefined), wait * 1000);
    const reads = await this.#readAll(channels, since, limit, signing);
    if (done) return;
    // (A join or leave that came before this poll could be woken: answered now.)
    if (session?.pending === true || reads.some((r) => r.messages.length > 0 || r.gap !== undefined)) return respond(reads);
    // Nothing new: remember where each channel stands, so the reply to a timeout carries a cursor.
    for (const read of reads) if (!since.has(read.channel)) since.set(read.channel, read.position);
  }
}

/**
 * The channels whose joins and leaves a poll asks for (`joinLeave`): every channel with `1` or
 * `true`; with a comma-separated list of flags, one per channel in the order of the `channel`
 * parameters, those flagged `1` or `true`; none otherwise.
 */
function joinLeaveOf(value: string | null, channels: readonly string[]): ReadonlySet<string> {
  if (value === null) return NO_CHANNELS;
  if (value === '1' || value === 'true') return new Set(channels);
  const flags = value.split(',', channels.length);
  const asked = new Set<string>();
  for (let i = 0; i < flags.length; i++) if (flags[i] === '1' || flags[i] === 'true') asked.add(channels[i]!);
  return asked;
}

/** `body` (a JSON object) with `extras` (`,"field":value…`) added at its end. */
function withExtras(body: Buffer | string, extras: string): Buffer | string {
  if (extras === '') return body;
  if (typeof body === 'string') return `${body.slice(0, -1)}${extras}}`;
  return Buffer.concat([body.subarray(0, body.length - 1), Buffer.from(`${extras}}`)]);
}

/** `position` as the client gets it: signed when its channel is restricted. */
function handOut(channel: string, position: Position, signing: Signing | undefined): CursorEntry {
  return signing?.channels.has(channel) === true ? signing.signer.sign(channel, position) : position;
}

/**
 * `format=compact`: each channel's ref (its index in the request) and the epoch the client was told
 * (the request's position); an item carries the epoch when it differs.
 */
interface Compact {
  readonly refs: ReadonlyMap<string, number>;
  readonly told: Map<string, Position>;
}

/**
 * The compact items of one channel's messages, joined with commas; with `deltas` (the channel's
 * namespace sends them and the client asked), an item is the compact delta item where `pollItems`
 * would send a `delta` object.
 */
function compactItems(
  messages: readonly HubMessage[],
  channel: string,
  compact: Compact,
  signed: SignedEncodings | undefined,
  deltas: PollDeltas | undefined,
): string {
  const ref = compact.refs.get(channel) ?? 0;
  let epoch = compact.told.get(channel)?.epoch;
  let out = '';
  const sequence = deltas === undefined ? messages.map((message) => ({ message, delta: false })) : pollSequence(channel, messages, deltas);
  for (const { message, delta } of sequence) {
    const variant = variantOf(message.epoch !== epoch, signed !== undefined);
    epoch = message.epoch;
    const item = (delta ? compactDeltaJson(message, ref, variant, signed) : undefined) ?? compactJson(message, ref, variant, signed);
    out += (out === '' ? '' : ',') + item;
  }
  return out;
}

/** The answer to a read, its messages cut to `maxBytes` of JSON across channels (in channel order). */
function responseBody(
  uncut: readonly ReadOutcome[],
  maxBytes: number,
  signing: Signing | undefined,
  extras?: (answered: Answered) => string,
  deltas?: PollDeltas,
  compact?: Compact,
): string {
  const positions = new Map<string, CursorEntry>();
  const gaps = [];
  let more = false;
  let messages = '';
  let budget = maxBytes;
  for (const whole of uncut) {
    const { read, bytes } = capRead(whole, budget, messages === '');
    budget -= bytes;
    const signed = signing?.channels.has(read.channel) === true ? signing : undefined;
    positions.set(read.channel, handOut(read.channel, read.position, signing));
    if (read.gap !== undefined) gaps.push(gapFields(read.gap, signed?.signer));
    if (read.more) more = true;
    if (read.messages.length === 0) continue;
    const items =
      compact !== undefined
        ? compactItems(
            read.messages,
            read.channel,
            compact,
            signed?.encodings,
            deltas?.channels.has(read.channel) === true ? deltas : undefined,
          )
        : deltas?.channels.has(read.channel) === true
          ? pollItems(read.channel, read.messages, deltas, signed?.encodings)
          : messagesJson(read.messages, signed?.encodings).slice(1, -1);
    messages += (messages === '' ? '' : ',') + items;
  }
  const added = extras?.((channel) => positions.get(channel)) ?? '';
  return `{"messages":[${messages}],"cursor":"${encodeCursor(positions)}"${gaps.length > 0 ? `,"gaps":${JSON.stringify(gaps)}` : ''}${more ? ',"more":true' : ''}${added}}`;
}

function emptyBody(channels: readonly string[], since: Map<string, Position>, signing: Signing | undefined): string {
  const positions = new Map<string, CursorEntry>();
  for (const channel of channels) {
    const at = since.get(channel);
    if (at !== undefined) positions.set(channel, handOut(channel, at, signing));
  }
  return `{"messages":[],"cursor":"${encodeCursor(positions)}"}`;
}
