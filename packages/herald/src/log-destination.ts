import { writeSync } from 'node:fs';

/** Options of {@link LogDestination}. */
export interface LogDestinationOptions {
  /**
   * File descriptors in order of preference: lines go to the first; after a write error other than
   * `EAGAIN` on one, to the next; with none left, they are dropped. @default [1, 2] (stdout, then stderr)
   */
  readonly fds?: readonly number[] | undefined;
  /** Bytes held while the reader is slow (`EAGAIN`); lines past it are dropped. @default 1048576 */
  readonly maxPendingBytes?: number | undefined;
  /** ms between two attempts to write held bytes while the reader is slow. @default 50 */
  readonly retryInterval?: number | undefined;
  /** The write call (tests inject failures). @default fs.writeSync */
  readonly write?: ((fd: number, data: Uint8Array) => number) | undefined;
}

/**
 * Where the CLI's log lines go: never blocks, never throws, never spins, never keeps the process
 * alive. Each line is written at once with one non-blocking `write(2)`; what a slow reader does not
 * take (`EAGAIN`) is held, up to `maxPendingBytes`, and retried on an unreferenced timer. Any other
 * error (`EPIPE` from a reader that is gone, `EBADF`, `EIO` of a closed terminal) retires that
 * descriptor for good and moves to the next one, or drops every later line. Lines are whole: a line
 * half written when its descriptor fails is not resumed on the next.
 *
 * pino's own destination (sonic-boom) flushes synchronously on exit and retries a failed write until
 * it succeeds, so a hub whose log reader had exited could loop forever in its exit handler.
 */
export class LogDestination {
  readonly #fds: readonly number[];
  readonly #maxPendingBytes: number;
  readonly #retryInterval: number;
  readonly #write: (fd: number, data: Uint8Array) => number;
  #current = 0;
  /** Held bytes; the first may be the rest of a line partly written. */
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #headPartial = false;
  #timer: NodeJS.Timeout | undefined;
  #dropped = 0;

  constructor(options: LogDestinationOptions = {}) {
    this.#fds = options.fds ?? [1, 2];
    this.#maxPendingBytes = options.maxPendingBytes ?? 1024 * 1024;
    this.#retryInterval = options.retryInterval ?? 50;
    this.#write = options.write ?? writeSync;
  }

  /** Whether every descriptor failed: lines are now dropped. */
  get broken(): boolean {
    return this.#current >= this.#fds.length;
  }

  /** The descriptor lines go to now, or `undefined` once broken. */
  get fd(): number | undefined {
    return this.#fds[this.#current];
  }

  /** Lines dropped so far (no descriptor left, or more than `maxPendingBytes` held). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Bytes held for a slow reader. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** Writes one line (pino passes each line with its newline). */
  write(line: string): boolean {
    if (this.broken) {
      this.#dropped++;
      return true;
    }
    const bytes = Buffer.from(line);
    if (this.#pending.length > 0) {
      if (this.#pendingBytes + bytes.length > this.#maxPendingBytes) this.#dropped++;
      else this.#push(bytes);
      return true;
    }
    const rest = this.#attempt(bytes, false);
    if (rest !== undefined) {
      this.#push(rest);
      this.#schedule();
    }
    return true;
  }

  /**
   * Writes what is held, once, without waiting: stops at the first `EAGAIN` and drops the rest.
   * Bounded by the number of held lines, so it is safe in an `exit` handler.
   */
  flushSync(): void {
    this.#flush();
    this.#dropped += this.#pending.length;
    this.#pending = [];
    this.#pendingBytes = 0;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Writes `bytes` (the end of a line begun on this descriptor when `partial`) to the current
   * descriptor, moving to the next on an error. Returns what is left when the reader is slow
   * (and records whether it is the end of a line begun), or `undefined` once written or dropped.
   */
  #attempt(bytes: Uint8Array, partial: boolean): Uint8Array | undefined {
    let rest = bytes;
    let begun = partial;
    for (;;) {
      const fd = this.fd;
      if (fd === undefined) {
        this.#dropped++;
        return undefined;
      }
      try {
        const written = this.#write(fd, rest);
        if (written >= rest.length) return undefined;
        if (written <= 0) {
          this.#headPartial = begun;
          return rest;
        }
        rest = rest.subarray(written);
        begun = true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
          this.#headPartial = begun;
          return rest;
        }
        this.#current++;
        // Half a line is not resumed on the next descriptor.
        if (begun) {
          this.#dropped++;
          return undefined;
        }
      }
    }
  }

  #push(bytes: Uint8Array): void {
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#pending.length === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
      this.#schedule();
    }, this.#retryInterval);
    // Logs never keep a stopping hub alive.
    this.#timer.unref();
  }

  /** Writes held lines in order until the reader is slow again. */
  #flush(): void {
    while (this.#pending.length > 0) {
      const head = this.#pending[0]!;
      const rest = this.#attempt(head, this.#headPartial);
      if (rest !== undefined) {
        this.#pending[0] = rest;
        this.#pendingBytes -= head.length - rest.length;
        return;
      }
      this.#pending.shift();
      this.#pendingBytes -= head.length;
      this.#headPartial = false;
    }
  }
}
