import type { PresenceMember } from '@herald/protocol';
import type { HubMessage } from '../hub/hub-message.js';
import type { Subscriber } from '../hub/subscriber.js';
import type { Subscription } from '../hub/subscription.js';
import { DELIVERY_KEY, pusherDelivery, type PusherDelivery } from './pusher-delivery.js';
import { pusherFrame } from './pusher-frame.js';
import { PresenceRoster } from './pusher-presence-roster.js';

/** Where a {@link PusherSubscription} writes: its connection's send queue. */
export interface FrameSink {
  push(frame: Buffer): void;
}

/**
 * One channel of a Pusher connection, as the hub's subscriber: its own `user` (a presence
 * channel's `channel_data.user_id`, else the connection's signed-in user). What the hub delivers
 * before `pusher_internal:subscription_succeeded` is sent waits, so the client sees the reply (and
 * a cache channel's last event) first.
 */
export class PusherSubscription implements Subscriber {
  readonly client: string;
  readonly user: string | null;
  /** The Pusher channel name. */
  readonly name: string;
  /** The Herald channel it maps to. */
  readonly channel: string;
  /** The hub's subscription once it answered. */
  subscription: Subscription | undefined;
  /** Unsubscribed (or the connection closed) before the hub answered. */
  cancelled = false;
  readonly #sink: FrameSink;
  /** Frames waiting for the reply; `undefined` once it was sent. */
  #held: Buffer[] | undefined = [];
  /** Presence channels only. */
  readonly #roster: PresenceRoster | undefined;
  /** Join and leave events that came before the members were read. */
  #early: ['join' | 'leave', PresenceMember][] | undefined;
  readonly #encode = (message: HubMessage): PusherDelivery => pusherDelivery(message, this.name);

  constructor(sink: FrameSink, client: string, user: string | null, name: string, channel: string, presence: boolean) {
    this.#sink = sink;
    this.client = client;
    this.user = user;
    this.name = name;
    this.channel = channel;
    if (presence) {
      this.#roster = new PresenceRoster();
      this.#early = [];
    }
  }

  message(message: HubMessage): void {
    const delivery = message.encoded(DELIVERY_KEY, this.#encode);
    if (delivery.frame === undefined || delivery.socket === this.client) return;
    if (this.#held !== undefined) this.#held.push(delivery.frame);
    else this.#sink.push(delivery.frame);
  }

  /** No resume: a Pusher subscription starts at the end of the log and is never told of gaps. */
  gap(): void {}

  presence(type: 'join' | 'leave', _channel: string, member: PresenceMember): void {
    const roster = this.#roster;
    if (roster === undefined) return;
    if (this.#early !== undefined) {
      this.#early.push([type, member]);
      return;
    }
    if (type === 'join') {
      const added = roster.join(member);
      if (added !== undefined) this.#sink.push(pusherFrame('pusher_internal:member_added', JSON.stringify(added), this.name));
    } else {
      const removed = roster.leave(member);
      if (removed !== undefined)
        this.#sink.push(pusherFrame('pusher_internal:member_removed', JSON.stringify({ user_id: removed }), this.name));
    }
  }

  /**
   * Sends `pusher_internal:subscription_succeeded` (on a presence channel with the members read
   * from the hub, merged with the joins and leaves seen meanwhile), then `first` (a cache
   * channel's last event or `pusher:cache_miss`), then what the hub delivered meanwhile.
   */
  succeeded(members: readonly PresenceMember[] | undefined, first?: Buffer): void {
    let data = '{}';
    const roster = this.#roster;
    if (roster !== undefined) {
      for (const member of members ?? []) roster.join(member);
      for (const [type, member] of this.#early ?? []) {
        if (type === 'join') roster.join(member);
        else roster.leave(member);
      }
      this.#early = undefined;
      data = JSON.stringify(roster.snapshot());
    }
    this.#sink.push(pusherFrame('pusher_internal:subscription_succeeded', data, this.name));
    if (first !== undefined) this.#sink.push(first);
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const frame of held) this.#sink.push(frame);
  }
}
