import type { Gap } from '@herald/protocol';
import type { HubMessage } from './hub-message.js';
import type { Subscriber } from './subscriber.js';

/**
 * One subscriber on one channel. Until {@link Subscription.start} it buffers live messages (while the
 * replay is read); afterwards it forwards them, dropping duplicates by offset and turning a hole or an
 * epoch change into an explicit gap.
 */
export class Subscription {
  readonly channel: string;
  readonly subscriber: Subscriber;
  readonly joinLeave: boolean;
  /**
   * Whether the subscriber's positions on this channel are signed (it may not read the channel's
   * history); passed to every `message` and `gap`. A refresh of its token may change it.
   */
  signed: boolean;
  epoch = '';
  offset = 0;
  closed = false;
  #pending: HubMessage[] | null = [];

  constructor(channel: string, subscriber: Subscriber, joinLeave: boolean, signed = false) {
    this.channel = channel;
    this.subscriber = subscriber;
    this.joinLeave = joinLeave;
    this.signed = signed;
  }

  /** Whether the subscription has started (its replay is delivered). */
  get live(): boolean {
    return this.#pending === null && !this.closed;
  }

  /** Delivers the gap and replay, then whatever arrived live meanwhile, and goes live. */
  start(epoch: string, offset: number, gap: Gap | undefined, replay: readonly HubMessage[]): void {
    if (this.closed || this.#pending === null) return;
    this.epoch = epoch;
    this.offset = offset;
    if (gap !== undefined) {
      this.subscriber.gap(gap, this.signed);
      this.offset = gap.resumed.offset;
    }
    const pending = this.#pending;
    this.#pending = null;
    for (const message of replay) this.receive(message, true);
    for (const message of pending) this.receive(message, true);
  }

  /** Forwards a message in order; `replay` marks history the client asked for (see `Subscriber.message`). */
  receive(message: HubMessage, replay = false): void {
    if (this.closed) return;
    if (this.#pending !== null) {
      this.#pending.push(message);
      return;
    }
    if (message.epoch !== this.epoch) {
      this.subscriber.gap(
        {
          channel: this.channel,
          reason: 'epoch',
          requested: { epoch: this.epoch, offset: this.offset },
          resumed: { epoch: message.epoch, offset: message.offset - 1 },
        },
        this.signed,
      );
      this.epoch = message.epoch;
    } else if (message.offset <= this.offset) {
      return;
    } else if (message.offset > this.offset + 1) {
      this.subscriber.gap(
        {
          channel: this.channel,
          reason: 'lost',
          requested: { epoch: this.epoch, offset: this.offset },
          resumed: { epoch: this.epoch, offset: message.offset - 1 },
        },
        this.signed,
      );
    }
    this.offset = message.offset;
    this.subscriber.message(message, replay, this.signed);
  }
}
