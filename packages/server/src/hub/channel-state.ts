import type { Position } from '@herald/protocol';
import type { BrokerMessage } from '../engine/broker.js';
import type { HubMessage } from './hub-message.js';
import type { Subscription } from './subscription.js';

/** A listener for every live message of some channels (long polls). */
export type MessageListener = (message: HubMessage) => void;

/**
 * What the hub keeps per active channel: who receives its live messages, and where the live path
 * stands (for `LiveRepair`). Exists from the first local subscription or listener to the last.
 */
export class ChannelState {
  readonly subscriptions = new Set<Subscription>();
  readonly listeners = new Set<MessageListener>();
  /** Subscriptions that asked for join/leave pushes; 0 skips the loop on presence events. */
  joinLeave = 0;
  /** Last position seen on the live path; `undefined` until the first live message. */
  top: Position | undefined;
  /** Live messages held while a hole is repaired from the log. */
  repairQueue: BrokerMessage[] | undefined;
  /** Gives the repair in progress up (too many messages held): its late outcome is ignored. */
  abandonRepair: (() => void) | undefined;
  /** The last message dispatched (its offset is `top`'s). */
  last: BrokerMessage | undefined;
  /** A live message arrived since the last position check (a busy channel reveals holes by itself). */
  busy = false;
  /** Whether the channel's namespace has deltas on: its live messages keep their base (see `HubMessage.base`). */
  readonly delta: boolean;
  /** Settles once the node's broker subscription for the channel is in place (rejects if it failed). */
  ready: Promise<void>;

  constructor(ready: Promise<void>, delta = false) {
    this.ready = ready;
    this.delta = delta;
  }

  /** No subscription and no listener left: the channel can be released. */
  get idle(): boolean {
    return this.subscriptions.size === 0 && this.listeners.size === 0;
  }
}
