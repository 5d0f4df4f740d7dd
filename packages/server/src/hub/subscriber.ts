import type { Gap, PresenceMember } from '@herald/protocol';
import type { HubMessage } from './hub-message.js';

/**
 * The hub's view of one session's subscription sink (a WebSocket session or an SSE stream). The hub
 * calls it in offset order per channel, never twice for the same offset.
 */
export interface Subscriber {
  /** Session id, unique per connection; the presence member's `client`. */
  readonly client: string;
  /** User id, or `null` when anonymous. */
  readonly user: string | null;
  /**
   * `replay` is true for the history a resume asked for (bounded by retention, so never refused as
   * slowness). `signed`: the subscriber may not read the channel's history, so every position it
   * is given carries the hub's signature (see `Security.resumeFrom`). `delta`: the subscriber asked
   * for deltas and received the message just before this one on the channel (offset − 1, same
   * epoch), so it may be sent as a delta when there is one (`messageDelta`); otherwise in full.
   */
  message(message: HubMessage, replay: boolean, signed: boolean, delta?: boolean): void;
  /**
   * Whether the subscriber can take more replay now. When it says false, the rest of the replay
   * (and what arrived live meanwhile) waits until {@link Subscriber.onReplayRoom} calls back.
   * Without it the whole replay is delivered at once.
   */
  replayRoom?(): boolean;
  /** Calls `resume` once {@link Subscriber.replayRoom} may say true again (never if the subscriber closed). */
  onReplayRoom?(resume: () => void): void;
  gap(gap: Gap, signed: boolean): void;
  presence(type: 'join' | 'leave', channel: string, member: PresenceMember): void;
}
