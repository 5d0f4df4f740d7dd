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
   * is given carries the hub's signature (see `Security.resumeFrom`).
   */
  message(message: HubMessage, replay: boolean, signed: boolean): void;
  gap(gap: Gap, signed: boolean): void;
  presence(type: 'join' | 'leave', channel: string, member: PresenceMember): void;
}
