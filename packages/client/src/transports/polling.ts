import {
  CloseCode,
  encodeCursor,
  encodePosition,
  ErrorCode,
  parseCursor,
  type Envelope,
  type CursorEntry,
  type Gap,
} from '@herald/protocol';
import { HttpOperations, query, request } from './http.js';
import type { Link, Transport } from './transport.js';

interface PollAnswer {
  messages: Envelope[];
  cursor: string;
  gaps?: Gap[];
}

/**
 * The long-polling transport: `GET /api/messages` held by the hub until something arrives, asked
 * again at once with the positions reached. Stateless on the hub, so it passes any proxy.
 */
export class PollingTransport extends HttpOperations implements Transport {
  readonly name = 'polling';
  readonly #link: Link;
  #abort: AbortController | undefined;
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(link: Link) {
    super(link, encodePosition);
    this.#link = link;
  }

  async open(): Promise<ReadonlySet<string>> {
    await this.#link.pinned();
    const channels = this.#link.channels();
    if (channels.size === 0) {
      // Nothing to receive yet (a client that only publishes or reads): a reachability check.
      await request<unknown>(this.#link, '/healthz');
      void this.#loop();
      return new Set();
    }
    const fresh = [...channels].filter(([, position]) => position === undefined).map(([channel]) => channel);
    // Reachability check, and the current end of the log for channels that start from now.
    const answer = await request<PollAnswer>(
      this.#link,
      `/api/messages${query(fresh.length > 0 ? fresh : channels.keys(), { since: 'now' })}`,
    );
    const parsed = parseCursor(answer.cursor);
    if (parsed.ok && fresh.length > 0) for (const channel of fresh) this.#start(channel, parsed.value.get(channel));
    void this.#loop();
    return new Set(channels.keys());
  }

  async subscribe(channel: string, since: CursorEntry | undefined): Promise<CursorEntry | undefined> {
    let position = since;
    if (position === undefined) {
      const answer = await request<PollAnswer>(this.#link, `/api/messages${query([channel], { since: 'now' })}`);
      const parsed = parseCursor(answer.cursor);
      position = parsed.ok ? parsed.value.get(channel) : undefined;
      this.#start(channel, position);
    }
    this.#restart();
    return position;
  }

  unsubscribe(): void {
    this.#restart();
  }

  close(): void {
    this.#closed = true;
    this.#restart();
  }

  #start(channel: string, position: CursorEntry | undefined): void {
    if (position !== undefined) this.#link.start(channel, position);
  }

  /** Ends the poll in flight so the next one asks for the current set of channels. */
  #restart(): void {
    this.#abort?.abort();
    this.#wake?.();
  }

  async #loop(): Promise<void> {
    while (!this.#closed) {
      const channels = this.#link.channels();
      if (channels.size === 0) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      const known = new Map<string, CursorEntry>();
      for (const [channel, position] of channels) if (position !== undefined) known.set(channel, position);
      const abort = new AbortController();
      this.#abort = abort;
      try {
        const format = this.#link.format;
        const answer = await request<PollAnswer>(
          this.#link,
          `/api/messages${query(channels.keys(), {
            since: known.size > 0 ? encodeCursor(known) : undefined,
            wait: String(this.#link.pollWait),
            format: format && 'compact',
          })}`,
          { signal: abort.signal },
        );
        for (const gap of answer.gaps ?? []) this.#link.gap(gap);
        // A compact item names its channel by its index in the request, its epoch when it differs from `since`'s.
        const read = format?.reader([...channels.keys()], known);
        for (const message of answer.messages) this.#link.message((read ? read(message) : message) as Envelope);
      } catch (error) {
        if (abort.signal.aborted) continue;
        // An expired token is a 4100 (refresh, then reconnect); a refused one a 4501 (stop).
        const code = (error as { code?: unknown }).code;
        if (!this.#closed)
          this.#link.lost(
            code === ErrorCode.TokenExpired ? CloseCode.TokenExpired : code === ErrorCode.Unauthorized ? CloseCode.Unauthorized : 1006,
            (error as Error).message,
          );
        return;
      }
    }
  }
}
