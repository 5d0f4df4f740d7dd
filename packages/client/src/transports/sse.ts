import {
  CloseCode,
  encodeCursor,
  encodePosition,
  ErrorCode,
  parseCursor,
  type DeltaPush,
  type Envelope,
  type CursorEntry,
  type GapFrame,
  type PresenceEventFrame,
  type UnsubscribedFrame,
  type WireError,
} from '@herald/protocol';
import { HeraldClientError } from '../errors.js';
import { HttpOperations, query, ticketParam } from './http.js';
import type { Link, Transport } from './transport.js';

/**
 * The SSE transport: one EventSource for all channels (reopened with a cursor when the set
 * changes), publish/history/presence over HTTP. The hub's first event (`ready`) proves the stream
 * flows: a proxy that buffers the stream never delivers it in time, and the client falls back.
 */
export class SseTransport extends HttpOperations implements Transport {
  readonly name = 'sse';
  readonly #link: Link;
  #source: EventSource | undefined;
  #positions = new Map<string, CursorEntry>();
  #reopening: Promise<unknown> | undefined;
  #closed = false;

  constructor(link: Link) {
    super(link, encodePosition);
    this.#link = link;
  }

  open(): Promise<ReadonlySet<string>> {
    return this.#connect();
  }

  async subscribe(channel: string): Promise<CursorEntry | undefined> {
    await this.#reopen();
    return this.#positions.get(channel);
  }

  unsubscribe(): void {
    this.#reopen().catch(() => undefined);
  }

  close(): void {
    this.#closed = true;
    this.#source?.close();
  }

  /**
   * Why a stream was refused, asked again over `fetch` (which can read the status) with the same
   * query, the token in a header instead of the ticket: `refused` when its channels are not allowed
   * (`2000`/`2001`), `tooLarge` when the request head is over the hub's limit (`431`, code `1006`:
   * the same request can never succeed). `undefined` for any other outcome (a stream that opens is
   * cut at once).
   */
  async #refusal(path: string): Promise<{ refused: HeraldClientError } | { tooLarge: HeraldClientError } | undefined> {
    const abort = new AbortController();
    const token = this.#link.token();
    try {
      const res = await this.#link.fetch(`${this.#link.url}${path}`, {
        headers: { accept: 'application/json', ...(token !== undefined && { authorization: `Bearer ${token}` }) },
        signal: abort.signal,
      });
      if (res.ok) return undefined;
      // A proxy's own 431 may carry no JSON: the status alone says it.
      const body = ((await res.json().catch(() => undefined)) ?? {}) as { error?: { code?: unknown; message?: unknown } };
      const { code, message } = body.error ?? {};
      if (res.status === 431 || code === ErrorCode.TooLarge) {
        return {
          tooLarge: new HeraldClientError(
            ErrorCode.TooLarge,
            `the hub refused the SSE request as too large (${typeof message === 'string' ? message : `HTTP ${res.status}`}): fewer or shorter channels would fit`,
          ),
        };
      }
      return code === ErrorCode.Unauthorized || code === ErrorCode.Forbidden
        ? { refused: new HeraldClientError(code, String(message)) }
        : undefined;
    } catch {
      return undefined;
    } finally {
      abort.abort();
    }
  }

  /** Reopens the stream once for all changes made in the same tick. */
  #reopen(): Promise<unknown> {
    this.#reopening ??= Promise.resolve().then(() => {
      this.#reopening = undefined;
      this.#source?.close();
      return this.#connect().catch((error: unknown) => {
        this.#link.lost(1006, (error as Error).message);
        // The stream failed, not the channels: a hub code here (3002 for a ticket, 1006 for a head
        // too large) must not read as a refusal of each subscription, which would end them.
        throw new HeraldClientError('unreachable', (error as Error).message);
      });
    });
    return this.#reopening;
  }

  /** Opens the stream for the current channels; resolves with them once it delivered its first event. */
  async #connect(): Promise<ReadonlySet<string>> {
    const ES = this.#link.EventSource;
    if (ES === undefined) throw new HeraldClientError('unsupported', 'no EventSource implementation');
    await this.#link.pinned();
    const channels = this.#link.channels();
    const opened = new Set(channels.keys());
    if (channels.size === 0 || this.#closed) return opened;
    const ticket = await ticketParam(this.#link);
    const known = new Map<string, CursorEntry>();
    for (const [channel, position] of channels) if (position !== undefined) known.set(channel, position);
    const joinLeave = [...channels.keys()].some((c) => this.#link.joinLeave(c));
    const params = {
      since: known.size > 0 ? encodeCursor(known) : undefined,
      joinLeave: joinLeave ? '1' : undefined,
      delta: this.#link.delta ? '1' : undefined,
      format: this.#link.format && 'compact',
    };
    // A compact item names its channel by its index in the request.
    const parse: (text: string) => unknown = this.#link.format?.reader([...channels.keys()]) ?? JSON.parse;
    const url = `${this.#link.url}/events${query(channels.keys(), { ...params, ticket })}`;
    return new Promise((resolve, reject) => {
      const source = new ES(url);
      this.#source = source;
      let ready = false;
      const timer = setTimeout(() => {
        source.close();
        reject(new HeraldClientError('timeout', 'the SSE stream sent nothing in time (buffered by a proxy?)'));
      }, this.#link.timeout);
      source.addEventListener('ready', (event) => {
        clearTimeout(timer);
        ready = true;
        const parsed = parseCursor((parse((event as MessageEvent<string>).data) as { cursor: string }).cursor);
        if (parsed.ok) {
          this.#positions = parsed.value;
          // Subscriptions from now start here: a loss before their first message resumes from this.
          for (const [channel, position] of parsed.value) this.#link.start(channel, position);
        }
        resolve(opened);
      });
      source.onmessage = (event) => this.#link.message(parse(event.data as string) as Envelope | DeltaPush);
      source.addEventListener('gap', (event) => this.#link.gap(parse((event as MessageEvent<string>).data) as GapFrame));
      source.addEventListener('unsubscribed', (event) => {
        // The hub refused this channel and kept the stream for the others.
        const { channel, error } = JSON.parse((event as MessageEvent<string>).data) as UnsubscribedFrame;
        this.#link.refused(channel, new HeraldClientError(error.code, error.message));
      });
      const onPresence = (event: Event): void =>
        this.#link.presence(JSON.parse((event as MessageEvent<string>).data) as PresenceEventFrame);
      source.addEventListener('disconnect', (event) => {
        // The hub ended the stream and said why: as the matching WebSocket close code.
        const { error } = JSON.parse((event as MessageEvent<string>).data) as { error: WireError };
        source.close();
        if (source === this.#source && !this.#closed)
          this.#link.lost(error.code === ErrorCode.TokenExpired ? CloseCode.TokenExpired : CloseCode.Disconnected, error.message);
      });
      source.addEventListener('join', onPresence);
      source.addEventListener('leave', onPresence);
      source.onerror = () => {
        // EventSource would retry by itself; the client's own backoff and resume take over instead.
        source.close();
        if (source !== this.#source || this.#closed) return;
        if (!ready) {
          clearTimeout(timer);
          // EventSource hides the answer: ask again to learn whether the channels were refused.
          void this.#refusal(`/events${query(channels.keys(), params)}`).then((answer) => {
            if (answer === undefined) return reject(new HeraldClientError('unreachable', 'the SSE stream could not be opened'));
            // A failed stream: the client tries its next transport (the WebSocket sends channels in frames).
            if ('tooLarge' in answer) return reject(answer.tooLarge);
            // Every channel of the stream was refused: their subscriptions fail, the client goes on.
            for (const channel of channels.keys()) this.#link.refused(channel, answer.refused);
            resolve(opened);
          });
        } else this.#link.lost(1006, 'SSE stream lost');
      };
    });
  }
}
