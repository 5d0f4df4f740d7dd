import type { Gap } from '@herald/protocol';
import type { HubMessage } from './hub-message.js';
import type { Subscriber } from './subscriber.js';

/**
 * What a subscription holds until it is live: the replay being fed and the live messages held
 * meanwhile. Dropped once live, so a live subscription (most of them, for most of their life) keeps
 * none of it.
 */
interface CatchUp {
  readonly pending: HubMessage[];
  pendingAt: number;
  replay: readonly HubMessage[];
  replayAt: number;
}

// The subscription's flags, one small integer: four boolean fields would cost four pointer-sized
// slots in every subscription, and an idle connection holds one subscription per channel.
const JOIN_LEAVE = 1;
const SIGNED = 2;
const CLOSED = 4;
const STARTED = 8;
/** The subscriber applies deltas and the channel sends them. */
const DELTA = 16;
/** With DELTA: the subscriber received the message at `offset` (full or as a delta), the base of the next. */
const HAS_BASE = 32;

/**
 * One subscriber on one channel. Until {@link Subscription.start} it buffers live messages (while the
 * replay is read); afterwards it forwards them, dropping duplicates by offset and turning a hole or an
 * epoch change into an explicit gap.
 */
export class Subscription {
  readonly channel: string;
  readonly subscriber: Subscriber;
  epoch = '';
  offset = 0;
  /** Until live: live messages held while the replay is delivered; `undefined` once live. */
  #catchUp: CatchUp | undefined = { pending: [], pendingAt: 0, replay: [], replayAt: 0 };
  #flags: number;

  constructor(channel: string, subscriber: Subscriber, joinLeave: boolean, signed = false, delta = false) {
    this.channel = channel;
    this.subscriber = subscriber;
    this.#flags = (joinLeave ? JOIN_LEAVE : 0) | (signed ? SIGNED : 0) | (delta ? DELTA : 0);
  }

  /** Whether the subscriber may be sent deltas on this channel (it asked, and the namespace sends them). */
  get delta(): boolean {
    return (this.#flags & DELTA) !== 0;
  }

  /** Whether the subscriber asked for the channel's joins and leaves. */
  get joinLeave(): boolean {
    return (this.#flags & JOIN_LEAVE) !== 0;
  }

  /** Changed only through `Hub.setJoinLeave` (which counts the channel's join/leave subscriptions). */
  set joinLeave(joinLeave: boolean) {
    this.#flags = joinLeave ? this.#flags | JOIN_LEAVE : this.#flags & ~JOIN_LEAVE;
  }

  /**
   * Whether the subscriber's positions on this channel are signed (it may not read the channel's
   * history); passed to every `message` and `gap`. A refresh of its token may change it.
   */
  get signed(): boolean {
    return (this.#flags & SIGNED) !== 0;
  }

  set signed(signed: boolean) {
    this.#flags = signed ? this.#flags | SIGNED : this.#flags & ~SIGNED;
  }

  /** Set once the subscription ended: nothing more is delivered. */
  get closed(): boolean {
    return (this.#flags & CLOSED) !== 0;
  }

  set closed(closed: boolean) {
    this.#flags = closed ? this.#flags | CLOSED : this.#flags & ~CLOSED;
  }

  /** Whether the subscription has started (its join was announced; its replay may still be on its way). */
  get live(): boolean {
    return (this.#flags & (STARTED | CLOSED)) === STARTED;
  }

  /**
   * Delivers the gap and replay, then whatever arrived live meanwhile, and goes live. The replay is
   * fed as the subscriber has room for it (see `Subscriber.replayRoom`): a resume from far back
   * never queues the whole retained window on a connection that does not read.
   */
  start(epoch: string, offset: number, gap: Gap | undefined, replay: readonly HubMessage[]): void {
    if ((this.#flags & (STARTED | CLOSED)) !== 0) return;
    this.#flags |= STARTED;
    this.epoch = epoch;
    this.offset = offset;
    if (gap !== undefined) {
      this.subscriber.gap(gap, this.signed);
      this.offset = gap.resumed.offset;
    }
    this.#catchUp!.replay = replay;
    this.#feed();
  }

  /** Delivers the replay, then the live messages held meanwhile, while the subscriber has room. */
  #feed(): void {
    const catchUp = this.#catchUp;
    while (catchUp !== undefined && !this.closed) {
      const fromReplay = catchUp.replayAt < catchUp.replay.length;
      if (!fromReplay && catchUp.pendingAt === catchUp.pending.length) {
        this.#catchUp = undefined;
        return;
      }
      if (this.subscriber.replayRoom?.() === false) {
        this.subscriber.onReplayRoom?.(() => this.#feed());
        return;
      }
      const message = fromReplay ? catchUp.replay[catchUp.replayAt++]! : catchUp.pending[catchUp.pendingAt++]!;
      this.#forward(message, true);
    }
  }

  /** Forwards a message in order; `replay` marks history the client asked for (see `Subscriber.message`). */
  receive(message: HubMessage, replay = false): void {
    if (this.closed) return;
    if (this.#catchUp !== undefined) {
      this.#catchUp.pending.push(message);
      return;
    }
    this.#forward(message, replay);
  }

  #forward(message: HubMessage, replay: boolean): void {
    // A delta only live, right after the message it is taken against, which this subscriber received.
    const base =
      (this.#flags & (DELTA | HAS_BASE)) === (DELTA | HAS_BASE) &&
      !replay &&
      message.epoch === this.epoch &&
      message.offset === this.offset + 1;
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
    if ((this.#flags & DELTA) !== 0) this.#flags |= HAS_BASE;
    this.subscriber.message(message, replay, this.signed, base);
  }
}
