import type { Position } from '@herald/protocol';
import type { WebhookSink } from '../webhooks/webhook-sink.js';

/** ms between two `client_ack` events of one user and channel unless configured. */
export const DEFAULT_ACK_WEBHOOK_INTERVAL = 1000;

/** Users and channels with an ack waiting for its event on one node; past it the waiting ones are sent at once. */
export const MAX_PENDING_ACK_EVENTS = 10_000;

interface Pending {
  readonly channel: string;
  readonly user: string;
  position: Position;
}

/**
 * Coalesces acks into `client_ack` webhook events: every `interval` ms, one event per user and
 * channel acknowledged since the last one, with the latest position. A busy channel whose users ack
 * every message costs the app one event per user per interval, not one per message. Per node: two
 * nodes acking for the same user within an interval send one event each.
 */
export class AckWebhooks {
  readonly #sink: WebhookSink;
  readonly #interval: number;
  readonly #pending = new Map<string, Pending>();
  #timer: NodeJS.Timeout | undefined;

  constructor(sink: WebhookSink, interval: number = DEFAULT_ACK_WEBHOOK_INTERVAL) {
    this.#sink = sink;
    this.#interval = interval;
  }

  /** Records an ack that moved the user's position; sent with the next flush. */
  acked(channel: string, user: string, position: Position): void {
    if (!this.#sink.wants('client_ack')) return;
    const key = `${channel}\n${user}`;
    const pending = this.#pending.get(key);
    if (pending !== undefined) {
      pending.position = position;
      return;
    }
    if (this.#pending.size >= MAX_PENDING_ACK_EVENTS) this.#flush();
    this.#pending.set(key, { channel, user, position });
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#flush(), this.#interval);
      this.#timer.unref();
    }
  }

  /** Sends what is pending now. */
  close(): void {
    this.#flush();
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const { channel, user, position } of this.#pending.values()) {
      void this.#sink.emit({ type: 'client_ack', channel, user, epoch: position.epoch, offset: position.offset });
    }
    this.#pending.clear();
  }
}
