import type { Position } from '@herald/protocol';
import { HeraldClientError } from './errors.js';

/** Milliseconds between two acks of one channel unless configured. */
export const DEFAULT_ACK_INTERVAL = 1000;

/** Whether `position` is at or behind `than` in the same epoch. */
const behind = (position: Position, than: Position | undefined): boolean =>
  than !== undefined && than.epoch === position.epoch && position.offset <= than.offset;

/** What the queue sends through: the transport in use (undefined while there is none). */
export interface AckSender {
  /** Sends one ack; rejects with a {@link HeraldClientError}. Undefined while not connected: the acks wait. */
  send(): ((channel: string, position: Position) => Promise<unknown>) | undefined;
  /** The hub refused an ack for good (1xxx, 2xxx): reported on the channel's subscriptions. */
  refused(channel: string, error: HeraldClientError): void;
}

/**
 * Coalesces acks: at most one per channel per `interval`, with the latest position asked for. A
 * position of another epoch replaces the pending one; within an epoch the highest offset wins.
 * While there is no transport the acks wait (one per channel); a temporary failure (3xxx, network,
 * closed) sends the position again at the next interval unless a newer one is pending.
 */
export class AckQueue {
  readonly #sender: AckSender;
  readonly #interval: number;
  readonly #pending = new Map<string, Position>();
  /** The last position sent (or being sent) per channel: nothing at or behind it is sent again. */
  readonly #sent = new Map<string, Position>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(sender: AckSender, interval: number = DEFAULT_ACK_INTERVAL) {
    this.#sender = sender;
    this.#interval = interval;
  }

  /** Asks for `position` on `channel` to be acknowledged with the next flush. */
  add(channel: string, position: Position): void {
    if (this.#closed || behind(position, this.#sent.get(channel)) || behind(position, this.#pending.get(channel))) return;
    this.#pending.set(channel, { epoch: position.epoch, offset: position.offset });
    this.#schedule();
  }

  /** Forgets a channel (its last subscription ended): what is pending is still sent. */
  forget(channel: string): void {
    if (!this.#pending.has(channel)) this.#sent.delete(channel);
  }

  /** Sends what is pending now, if connected. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const send = this.#sender.send();
    if (send === undefined) {
      // Not connected: try again at the next interval (the positions wait, one per channel).
      if (this.#pending.size > 0) this.#schedule();
      return;
    }
    for (const [channel, position] of this.#pending) {
      this.#pending.delete(channel);
      this.#sent.set(channel, position);
      send(channel, position).then(
        () => undefined,
        (error: unknown) => this.#failed(channel, position, error),
      );
    }
  }

  /** Stops: nothing more is sent. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#pending.clear();
  }

  #failed(channel: string, position: Position, error: unknown): void {
    const failure = error instanceof HeraldClientError ? error : new HeraldClientError('internal', String(error));
    const sent = this.#sent.get(channel);
    if (sent === position) this.#sent.delete(channel);
    const temporary = typeof failure.code !== 'number' || failure.code >= 3000;
    if (!temporary) {
      this.#sender.refused(channel, failure);
      return;
    }
    if (!this.#pending.has(channel) && !this.#closed) {
      this.#pending.set(channel, position);
      this.#schedule();
    }
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(() => this.flush(), this.#interval);
  }
}
