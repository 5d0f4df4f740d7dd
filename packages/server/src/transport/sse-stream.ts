import type { ServerResponse } from 'node:http';
import { encodeCursor, encodePosition, type CursorEntry, type Gap, type PresenceMember } from '@herald/protocol';
import type { CursorSigner } from '../auth/cursor-signer.js';
import type { HubMessage } from '../hub/hub-message.js';
import type { Subscriber } from '../hub/subscriber.js';
import type { Subscription } from '../hub/subscription.js';
import { Outbox, type OutboxOwner } from './outbox.js';
import { nextSessionId } from './session-id.js';
import { compactDeltaSseEvent, compactSseEvent, variantOf } from './compact-encodings.js';
import { deltaFrames } from './delta-frames.js';
import { gapJson, type SignedEncodings } from './signed-json.js';
import type { ConnectionInfo } from './transport.js';
import type { CloseReason } from '../webhooks/close-reason.js';
import type { CompressionSettings } from './compression-options.js';
import { GZIP_HEADER, gzipSegment, GzipTally, storedSegment } from './sse-gzip.js';

const encodeSingle = (message: HubMessage): Buffer =>
  Buffer.from(`id: ${encodePosition(message.channel, message)}\ndata: ${message.json}\n\n`);
const encodeData = (message: HubMessage): Buffer => Buffer.from(`data: ${message.json}\n\n`);

/**
 * The gzip segments of a hub's SSE events (see sse-gzip.ts): each message's is built once, cached
 * on it, and shared by every gzip stream, as the plain event is by the others.
 */
export class SseGzip {
  readonly threshold: number;
  readonly level: number;
  readonly #signed: SignedEncodings;
  readonly single = (m: HubMessage): Buffer => m.encoded('sse1-gz', this.#single);
  readonly data = (m: HubMessage): Buffer => m.encoded('sse-gz', this.#data);
  readonly signedSingle = (m: HubMessage): Buffer => m.encoded('sse1-signed-gz', this.#signedSingle);
  readonly signedData = (m: HubMessage): Buffer => m.encoded('sse-signed-gz', this.#signedData);
  readonly #single = (m: HubMessage): Buffer => this.segment(m.encoded('sse1', encodeSingle));
  readonly #data = (m: HubMessage): Buffer => this.segment(m.encoded('sse', encodeData));
  readonly #signedSingle = (m: HubMessage): Buffer => this.segment(this.#signed.sseSingle(m));
  readonly #signedData = (m: HubMessage): Buffer => this.segment(this.#signed.sseData(m));

  constructor(settings: CompressionSettings, signed: SignedEncodings) {
    this.threshold = settings.threshold;
    this.level = settings.level;
    this.#signed = signed;
  }

  /** The segment of a chunk shared by many streams (a delta event), built once and kept with it. */
  shared(plain: Buffer): Buffer {
    let segment = this.#shared.get(plain);
    if (segment === undefined) this.#shared.set(plain, (segment = this.segment(plain)));
    return segment;
  }

  readonly #shared = new WeakMap<Buffer, Buffer>();

  /** The segment of any other chunk (built for one stream). */
  segment(plain: Buffer): Buffer {
    return plain === SSE_HEARTBEAT ? HEARTBEAT_SEGMENT : gzipSegment(plain, this.threshold, this.level);
  }
}

/** What a stream reports to its transport (one object for all streams: no closures per stream). */
export interface SseStreamOwner {
  /** Signs the positions of subscriptions without `history`. */
  readonly cursors: CursorSigner;
  /** The encodings of subscriptions without `history` (signed positions). */
  readonly signed: SignedEncodings;
  slowConsumer(stream: SseStream): void;
  closed(stream: SseStream): void;
}

const STREAM = Symbol('herald.stream');
type StreamResponse = ServerResponse & { [STREAM]: SseStream };
function onResponseClose(this: ServerResponse): void {
  const stream = (this as StreamResponse)[STREAM];
  stream.end();
  stream.owner.closed(stream);
}

/** The shared heartbeat chunk: an SSE comment, ignored by EventSource, that keeps proxies from timing out. */
export const SSE_HEARTBEAT = Buffer.from(':\n\n');
const HEARTBEAT_SEGMENT = storedSegment(SSE_HEARTBEAT);

/**
 * One SSE stream: each message is an unnamed event (`EventSource.onmessage`) whose `data:` is the
 * envelope and whose `id:` is a cursor over all the stream's channels, so the browser's automatic
 * reconnect (`Last-Event-ID`) resumes every channel. On a one-channel stream the whole event is the
 * same for every subscriber and is built once per message.
 */
export class SseStream implements Subscriber, OutboxOwner {
  readonly client: string;
  readonly user: string | null;
  /** When the stream opened, in milliseconds since the Unix epoch. */
  readonly since: number;
  readonly #outbox: Outbox;
  readonly #positions: Map<string, CursorEntry>;
  readonly #single: boolean;

  /** Why the hub ended the stream, once it did (`connection_closed`); `undefined`: the client went away. */
  reason: CloseReason | undefined = undefined;

  /** The stream's subscriptions, once they started. */
  subscriptions: Subscription[] = [];
  readonly #res: ServerResponse;
  readonly #owner: SseStreamOwner;
  /** `format=compact`: each channel's ref (its index in the request); `undefined` for full envelopes. */
  readonly #refs: ReadonlyMap<string, number> | undefined;
  /** A compact stream's positions moved since its last `id:` (see {@link SseStream.heartbeat}). */
  #moved = false;
  /** Set on a gzip stream: the segments, and what was sent (for the trailer). */
  readonly #gzip: SseGzip | undefined;
  readonly #tally: GzipTally | undefined;
  #begun = false;

  /**
   * `positions` holds each channel's starting position (signed where the subscription is); `client`:
   * the stream's session id; `refs`, given for `format=compact`, each channel's ref.
   */
  constructor(
    res: ServerResponse,
    user: string | null,
    channelCount: number,
    positions: Map<string, CursorEntry>,
    sendQueueBytes: number,
    owner: SseStreamOwner,
    since: number,
    client: string = nextSessionId(),
    refs?: ReadonlyMap<string, number>,
    gzip?: SseGzip,
  ) {
    this.#refs = refs;
    this.client = client;
    this.user = user;
    this.since = since;
    this.#res = res;
    this.#owner = owner;
    this.#positions = positions;
    this.#single = channelCount === 1;
    this.#gzip = gzip;
    this.#tally = gzip === undefined ? undefined : new GzipTally();
    this.#outbox = new Outbox(res, sendQueueBytes, this);
    (res as StreamResponse)[STREAM] = this;
    res.on('close', onResponseClose);
  }

  /** The send queue passed its limit: the stream is cut (see {@link Outbox}). */
  overflow(): void {
    this.reason ??= 'slow_consumer';
    this.#owner.slowConsumer(this);
    this.#res.destroy();
  }

  /** @internal */
  get owner(): SseStreamOwner {
    return this.#owner;
  }

  /** The current cursor over all channels of the stream. */
  get cursor(): string {
    return encodeCursor(this.#positions);
  }

  /** The stream as the admin API lists it. */
  describe(): ConnectionInfo {
    return {
      id: this.client,
      transport: 'sse',
      user: this.user,
      ip: this.#res.socket?.remoteAddress ?? null,
      channels: this.subscriptions.map((subscription) => subscription.channel),
      since: this.since,
    };
  }

  /** Writes raw SSE text (the preamble, a heartbeat). */
  write(chunk: Buffer): void {
    this.#push(chunk);
  }

  /** Flushes what is queued (on a gzip stream, ended by the gzip trailer) and stops accepting more. */
  end(): void {
    if (this.#tally !== undefined && this.#begun && this.#outbox.open) this.#outbox.push(this.#tally.trailer());
    this.#outbox.flush();
    this.#outbox.close();
  }

  message(message: HubMessage, replay: boolean, signed: boolean, delta?: boolean): void {
    if (this.#refs !== undefined) return this.#compactMessage(message, replay, signed, this.#refs, delta === true);
    if (delta === true && this.#delta(message, replay, signed)) return;
    if (signed) return this.#signedMessage(message, replay);
    this.#positions.set(message.channel, { epoch: message.epoch, offset: message.offset });
    const gzip = this.#gzip;
    if (this.#single) {
      this.#push(message.encoded('sse1', encodeSingle), replay, gzip?.single(message));
    } else {
      this.#push(Buffer.from(`id: ${encodeCursor(this.#positions)}\n`), replay);
      this.#push(message.encoded('sse', encodeData), replay, gzip?.data(message));
    }
  }

  /**
   * A compact item (`format=compact`): the epoch goes only when it differs from the channel's
   * position the client holds (from the `ready` cursor, a gap or an earlier message). `delta`: the
   * item is the compact delta push (`-ref-1`, the delta in place of the data) when the message has one.
   */
  #compactMessage(message: HubMessage, replay: boolean, signed: boolean, refs: ReadonlyMap<string, number>, delta: boolean): void {
    const ref = refs.get(message.channel);
    if (ref === undefined) return;
    const encodings = this.#owner.signed;
    const variant = variantOf(this.#positions.get(message.channel)?.epoch !== message.epoch, signed);
    this.#positions.set(message.channel, signed ? encodings.position(message) : { epoch: message.epoch, offset: message.offset });
    this.#moved = true;
    const event =
      (delta ? compactDeltaSseEvent(message, ref, variant, encodings) : undefined) ?? compactSseEvent(message, ref, variant, encodings);
    this.#push(event, replay, this.#gzip?.shared(event));
  }

  /**
   * The heartbeat: a comment, or on a compact stream whose positions moved since the last one, an
   * event of only `id:` (the stream's cursor), which sets EventSource's `lastEventId` without
   * dispatching anything. A compact stream's messages carry no `id:` (it would cost more than the
   * compact envelope saves), so a native reconnect resumes from the last heartbeat's cursor: it may
   * repeat the messages since then (each has its offset), it loses none.
   */
  heartbeat(): void {
    if (!this.#moved) return this.#push(SSE_HEARTBEAT);
    this.#moved = false;
    this.#push(Buffer.from(`id: ${encodeCursor(this.#positions)}\n\n`));
  }

  /** Sends `message` as a delta event when it has a delta; false when it must go in full. */
  #delta(message: HubMessage, replay: boolean, signed: boolean): boolean {
    const signer = signed ? this.#owner.signed : undefined;
    const event = this.#single ? deltaFrames.sseSingle(message, signer) : deltaFrames.sseData(message, signer);
    if (event === undefined) return false;
    this.#positions.set(
      message.channel,
      signer === undefined ? { epoch: message.epoch, offset: message.offset } : signer.position(message),
    );
    if (!this.#single) this.#push(Buffer.from(`id: ${encodeCursor(this.#positions)}\n`), replay);
    // Through #push: on a gzip stream every byte must be a segment. The event is shared, so is its segment.
    this.#push(event, replay, this.#gzip?.shared(event));
    return true;
  }

  /** A message to a subscription without `history`: signed position in the id and the envelope. */
  #signedMessage(message: HubMessage, replay: boolean): void {
    const signed = this.#owner.signed;
    this.#positions.set(message.channel, signed.position(message));
    const gzip = this.#gzip;
    if (this.#single) {
      this.#push(signed.sseSingle(message), replay, gzip?.signedSingle(message));
    } else {
      this.#push(Buffer.from(`id: ${encodeCursor(this.#positions)}\n`), replay);
      this.#push(signed.sseData(message), replay, gzip?.signedData(message));
    }
  }

  replayRoom(): boolean {
    return this.#outbox.hasRoom;
  }

  onReplayRoom(resume: () => void): void {
    this.#outbox.whenRoom(resume);
  }

  gap(gap: Gap, signed: boolean): void {
    const cursors = signed ? this.#owner.cursors : undefined;
    this.#positions.set(gap.channel, cursors === undefined ? gap.resumed : cursors.sign(gap.channel, gap.resumed));
    // A compact stream's messages carry no `id:`: its gap does, so a native reconnect does not meet it again.
    const id = this.#refs === undefined ? '' : `id: ${encodeCursor(this.#positions)}\n`;
    this.#push(Buffer.from(`${id}event: gap\ndata: ${gapJson(gap, cursors)}\n\n`));
  }

  presence(type: 'join' | 'leave', channel: string, member: PresenceMember): void {
    this.#push(Buffer.from(`event: ${type}\ndata: ${JSON.stringify({ type, channel, member })}\n\n`));
  }

  /** Queues `plain`; on a gzip stream as its segment (`segment` when shared, else built now), after the gzip header. */
  #push(plain: Buffer, replay = false, segment?: Buffer): void {
    const gzip = this.#gzip;
    if (gzip === undefined || this.#tally === undefined) return this.#outbox.push(plain, replay);
    if (!this.#begun) {
      this.#begun = true;
      this.#outbox.push(GZIP_HEADER, replay);
    }
    this.#tally.add(plain);
    this.#outbox.push(segment ?? gzip.segment(plain), replay);
  }
}
