import type { IncomingMessage, ServerResponse } from 'node:http';
import { encodeCursor, encodePosition, ErrorCode, MAX_HISTORY_LIMIT, type Position, type WireError } from '@herald/protocol';
import type { Identity } from '../auth/identity.js';
import type { Clock } from '../clock.js';
import { toWireError } from '../errors.js';
import type { Permissions } from '../hub/permissions.js';
import type { Hub, ReadOutcome } from '../hub/hub.js';
import type { HubMessage } from '../hub/hub-message.js';
import { readChannelQuery } from '../http/channel-query.js';
import { connectionGone, sendBounded } from '../http/connection-budget.js';
import { sendError } from '../http/respond.js';
import type { Refusal } from './connection-limiter.js';
import { messagesJson } from './messages-json.js';
import { capRead } from './read-cap.js';

/** Options of {@link PollingTransport}. */
export interface PollingTransportOptions {
  readonly maxChannels: number;
  /** Longest `wait` a request may ask for, in seconds. */
  readonly maxWait: number;
  /** Bytes of message JSON one answer may carry (at least one message always goes). */
  readonly maxResponseBytes: number;
  /** Bytes of answers one HTTP connection may have waiting before it is cut. */
  readonly sendQueueBytes: number;
  /** The wall clock, for token expiry. */
  readonly clock: Clock;
  /** Takes a connection slot for a request about to be held, or says why not. */
  readonly hold: (req: IncomingMessage, identity: Identity) => { release: () => void } | Refusal;
}

interface Waiting {
  finish(): void;
}

const encodeNext = (message: HubMessage): Buffer =>
  Buffer.from(`{"messages":[${message.json}],"cursor":"${encodePosition(message.channel, message)}"}`);

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
export class PollingTransport {
  readonly #hub: Hub;
  readonly #options: PollingTransportOptions;
  readonly #waiting = new Set<Waiting>();
  readonly #permissions: Permissions;

  constructor(hub: Hub, options: PollingTransportOptions, permissions: Permissions) {
    this.#permissions = permissions;
    this.#hub = hub;
    this.#options = options;
  }

  /** Requests currently held. */
  get size(): number {
    return this.#waiting.size;
  }

  /** Answers one poll for `identity` (authenticated by the caller), checking `subscribe` on every channel. */
  async handle(req: IncomingMessage, res: ServerResponse, params: URLSearchParams, identity: Identity, op: 'subscribe' | 'history', headers: Record<string, string>): Promise<void> {
    const query = readChannelQuery(params, this.#options.maxChannels);
    if (!query.ok) return sendError(res, query.error, headers);
    try {
      for (const channel of query.value.channels) this.#permissions.check(identity, op, channel);
    } catch (error) {
      return sendError(res, toWireError(error), headers);
    }
    const wait = parseNumber(params, 'wait', 0, this.#options.maxWait, false) ?? 0;
    if (typeof wait === 'object') return sendError(res, wait, headers);
    const limit = parseNumber(params, 'limit', 1, MAX_HISTORY_LIMIT, true) ?? MAX_HISTORY_LIMIT;
    if (typeof limit === 'object') return sendError(res, limit, headers);
    const { channels, fromNow } = query.value;

    try {
      let since = query.value.since;
      if (fromNow) {
        const positions = await Promise.all(channels.map(async (channel) => [channel, await this.#hub.position(channel)] as const));
        since = new Map(positions);
      }
      if (wait === 0) {
        const reads = await this.#readAll(channels, since, limit);
        return this.#send(res, reads, headers);
      }
      await this.#longPoll(req, res, identity, channels, since ?? new Map<string, Position>(), limit, wait, headers);
    } catch (error) {
      sendError(res, toWireError(error), headers);
    }
  }

  /** Answers every held request now with what it has (shutdown). */
  close(): void {
    for (const waiting of this.#waiting) waiting.finish();
  }

  /** Sends the reads, cut to `maxResponseBytes`, unless the connection is gone or has too much waiting. */
  #send(res: ServerResponse, reads: readonly ReadOutcome[], headers: Record<string, string>): void {
    if (connectionGone(res)) return;
    sendBounded(res, responseBody(reads, this.#options.maxResponseBytes), headers, this.#options.sendQueueBytes);
  }

  #readAll(channels: readonly string[], since: Map<string, Position> | undefined, limit: number): Promise<ReadOutcome[]> {
    return Promise.all(channels.map((channel) => this.#hub.read(channel, since?.get(channel), limit)));
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
    const handles: { timer?: NodeJS.Timeout; stopListening?: () => void } = {};
    const single = channels.length === 1 ? channels[0]! : undefined;
    const waiting: Waiting = { finish: () => respond(undefined) };

    const cleanup = (): void => {
      done = true;
      slot.release();
      clearTimeout(handles.timer);
      handles.stopListening?.();
      this.#waiting.delete(waiting);
    };
    const respond = (reads: ReadOutcome[] | undefined): void => {
      if (done) return;
      cleanup();
      if (reads === undefined) sendBounded(res, emptyBody(channels, since), headers, this.#options.sendQueueBytes);
      else this.#send(res, reads, headers);
    };
    const expire = (): void => {
      if (done) return;
      cleanup();
      sendError(res, { code: ErrorCode.TokenExpired, message: 'token expired' }, headers);
    };
    const check = (): void => {
      if (done) return;
      if (reading) {
        stale = true;
        return;
      }
      reading = true;
      stale = false;
      this.#readAll(channels, since, limit).then(
        (reads) => {
          reading = false;
          if (reads.some((r) => r.messages.length > 0 || r.gap !== undefined)) respond(reads);
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
      // The common case (one channel, exactly the next message) shares one body among all waiters.
      const at = single === undefined ? undefined : since.get(single);
      if (at !== undefined && at.epoch === message.epoch && at.offset + 1 === message.offset && !reading) {
        cleanup();
        sendBounded(res, message.encoded('poll', encodeNext), headers, this.#options.sendQueueBytes);
        return;
      }
      check();
    };

    res.on('close', cleanup);
    // Listen before the first read, so a message published in between wakes this request.
    const stopListening = await this.#hub.listen(channels, onMessage);
    if (done) return stopListening();
    handles.stopListening = stopListening;
    this.#waiting.add(waiting);
    // Ends with 2002 at the token's expiry when that comes first, as an SSE stream would.
    const expiresIn = identity.expiresAt === undefined ? Infinity : identity.expiresAt - this.#options.clock.now();
    const expires = expiresIn < wait * 1000;
    const delay = Math.max(0, Math.min(expires ? expiresIn : wait * 1000, 2 ** 31 - 1));
    handles.timer = setTimeout(expires ? expire : () => respond(undefined), delay);
    const reads = await this.#readAll(channels, since, limit);
    if (done) return;
    if (reads.some((r) => r.messages.length > 0 || r.gap !== undefined)) return respond(reads);
    // Nothing new: remember where each channel stands, so the reply to a timeout carries a cursor.
    for (const read of reads) if (!since.has(read.channel)) since.set(read.channel, read.position);
  }
}

/** The answer to a read, its messages cut to `maxBytes` of JSON across channels (in channel order). */
function responseBody(uncut: readonly ReadOutcome[], maxBytes: number): string {
  const positions = new Map<string, Position>();
  const gaps = [];
  let more = false;
  let messages = '';
  let budget = maxBytes;
  for (const whole of uncut) {
    const { read, bytes } = capRead(whole, budget, messages === '');
    budget -= bytes;
    positions.set(read.channel, read.position);
    if (read.gap !== undefined) gaps.push(read.gap);
    if (read.more) more = true;
    if (read.messages.length > 0) messages += (messages === '' ? '' : ',') + messagesJson(read.messages).slice(1, -1);
  }
  return `{"messages":[${messages}],"cursor":"${encodeCursor(positions)}"${gaps.length > 0 ? `,"gaps":${JSON.stringify(gaps)}` : ''}${more ? ',"more":true' : ''}}`;
}

function emptyBody(channels: readonly string[], since: Map<string, Position>): string {
  const positions = new Map<string, Position>();
  for (const channel of channels) {
    const at = since.get(channel);
    if (at !== undefined) positions.set(channel, at);
  }
  return `{"messages":[],"cursor":"${encodeCursor(positions)}"}`;
}
