/** The part of a socket or HTTP response an {@link Outbox} writes to. */
export interface OutboxSink {
  write(chunk: Buffer): boolean;
  cork(): void;
  uncork(): void;
  readonly writableLength: number;
  readonly destroyed: boolean;
  /** `drain`: the socket's buffer emptied after a write was refused. */
  once?(event: 'drain', listener: () => void): unknown;
}

/** Who an {@link Outbox} reports overflow to (the session itself: no closure per connection). */
export interface OutboxOwner {
  /** The queue passed its limit; called once. */
  overflow(): void;
}

/** Bytes a session may have waiting (queued here plus unsent in the socket) before it is dropped. */
export const DEFAULT_SEND_QUEUE_BYTES = 1024 * 1024;

let dirty: Outbox[] = [];
let spare: Outbox[] = [];
let flushScheduled = false;

function flushDirty(): void {
  flushScheduled = false;
  // Swap the two lists instead of copying: outboxes that become dirty while flushing go to the
  // other list and wait for the next round, so one flush never starves I/O.
  const batch = dirty;
  dirty = spare;
  for (const outbox of batch) outbox.flush();
  batch.length = 0;
  spare = batch;
}

/**
 * A bounded, coalescing send queue for one connection. Chunks pushed within one event-loop turn are
 * written together in one corked batch (one syscall), after the turn. When the bytes waiting (queued
 * plus the socket's own buffer) pass `limit`, the queue is dropped and the owner's `overflow()` is called once:
 * a slow consumer never holds memory without bound or slows other sessions.
 */
export class Outbox {
  readonly #sink: OutboxSink;
  readonly #limit: number;
  readonly #owner: OutboxOwner;
  /** `undefined` while nothing is queued: an idle connection (most of them, most of the time) holds no array. */
  #chunks: Buffer[] | undefined;
  #bytes = 0;
  #credit = 0;
  #queued = false;
  #closed = false;

  constructor(sink: OutboxSink, limit: number, owner: OutboxOwner) {
    this.#sink = sink;
    this.#limit = limit;
    this.#owner = owner;
  }

  /** What it writes to (the socket, or the HTTP response of an SSE stream). */
  get sink(): OutboxSink {
    return this.#sink;
  }

  /** Whether the outbox still accepts chunks. */
  get open(): boolean {
    return !this.#closed;
  }

  /**
   * Queues `chunk` (the caller may share the same Buffer between many outboxes; it is never
   * modified). A `replay` chunk (history a resuming client asked for, bounded by the retention
   * window) is never refused: the limit applies to what piles up on top of it.
   */
  push(chunk: Buffer, replay = false): void {
    if (this.#closed) return;
    const pending = this.#bytes + this.#sink.writableLength;
    this.#bytes += chunk.length;
    if (replay) {
      this.#credit += chunk.length;
    } else {
      // Replay bytes leave first (the queue is FIFO): what is pending bounds what remains of them.
      this.#credit = Math.min(this.#credit, pending);
      // A chunk into an empty queue always goes, so one large message never counts as slowness.
      if (pending > 0 && pending + chunk.length > this.#limit + this.#credit) {
        this.close();
        this.#owner.overflow();
        return;
      }
    }
    if (this.#chunks === undefined) this.#chunks = [chunk];
    else this.#chunks.push(chunk);
    if (!this.#queued) {
      this.#queued = true;
      dirty.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushDirty);
      }
    }
  }

  /**
   * Whether less than the limit is waiting (queued plus unsent in the socket): a replay is fed only
   * while there is room, so a reader that does not read holds at most about the limit of it.
   */
  get hasRoom(): boolean {
    return !this.#closed && this.#bytes + this.#sink.writableLength < this.#limit;
  }

  /** Calls `then` once {@link Outbox.hasRoom} holds again (never if the outbox closes first). */
  whenRoom(then: () => void): void {
    // After this turn's flush: what the socket took at once needs no drain event.
    setImmediate(() => {
      if (this.#closed || this.#sink.destroyed) return;
      if (this.hasRoom || this.#sink.once === undefined) then();
      else this.#sink.once('drain', () => this.whenRoom(then));
    });
  }

  /** Writes everything queued now. */
  flush(): void {
    this.#queued = false;
    const chunks = this.#chunks;
    if (chunks === undefined || this.#closed || this.#sink.destroyed) return;
    this.#chunks = undefined;
    this.#bytes = 0;
    if (chunks.length === 1) {
      this.#sink.write(chunks[0]!);
      return;
    }
    this.#sink.cork();
    for (const chunk of chunks) this.#sink.write(chunk);
    this.#sink.uncork();
  }

  /** Drops whatever is queued and refuses further chunks. */
  close(): void {
    this.#closed = true;
    this.#chunks = undefined;
    this.#bytes = 0;
  }
}
