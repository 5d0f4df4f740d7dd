import { readEvent } from '../doors/door-event.js';
import { envelopeData } from '../engine/broker.js';
import type { HubMessage } from '../hub/hub-message.js';
import { wsTextFrame } from '../transport/ws-frame.js';

/** A hub message as a Pusher connection receives it, built once per message for every Pusher subscriber. */
export interface PusherDelivery {
  /** Undefined for an event Pusher clients must never receive from a channel (see {@link isProtocolEvent}). */
  readonly frame: Buffer | undefined;
  /** The `socket_id` the message excludes (a client event's sender, an HTTP API trigger's `socket_id`): that connection does not receive it. */
  readonly socket: string | undefined;
}

/** The key of the encoding on {@link HubMessage.encoded}. */
export const DELIVERY_KEY = 'pusher';

/**
 * `{"event": E, "channel": C, "data": D}` for a hub message (see `readEvent`: `{event, data}` data is
 * event `E`, anything else event `message` with the whole data). Object data with a string
 * `socket_id` member is not delivered to that connection (a client event's sender: the door stores
 * `{socket_id, user_id?, event: "client-…", data}`; the HTTP API stores a trigger with `socket_id` as `{socket_id, event, data}`); a client
 * event also carries its `user_id` (presence channels). A `pusher:…` or `pusher_internal:…` event is
 * never delivered, whoever stored it (a Herald publish could otherwise forge presence members).
 */
export function pusherDelivery(message: HubMessage, channel: string): PusherDelivery {
  const data = envelopeData(message.json);
  const { event, text } = readEvent(data);
  if (isProtocolEvent(event)) return { frame: undefined, socket: undefined };
  let socket: string | undefined;
  let userId: string | undefined;
  if (data.includes('"socket_id"')) {
    const stored = JSON.parse(data) as { socket_id?: unknown; user_id?: unknown };
    if (typeof stored.socket_id === 'string') socket = stored.socket_id;
    if (event.startsWith('client-') && typeof stored.user_id === 'string') userId = stored.user_id;
  }
  const frame = userId === undefined ? { event, channel, data: text } : { event, channel, data: text, user_id: userId };
  return { frame: wsTextFrame(JSON.stringify(frame)), socket };
}

/**
 * Whether `event` is one of the protocol's own (`pusher:…`, `pusher_internal:…`): only the door
 * sends those, never a message of the log.
 */
export function isProtocolEvent(event: string): boolean {
  return event.startsWith('pusher:') || event.startsWith('pusher_internal:');
}
