import { wsTextFrame } from '../transport/ws-frame.js';

/**
 * A Pusher protocol frame `{"event", "channel"?, "data"}` as one WebSocket text frame. `data` is
 * sent as Pusher sends it: a string holding JSON for the protocol's own events, an object for
 * `pusher:error` (as Pusher does).
 */
export function pusherFrame(event: string, data: unknown, channel?: string): Buffer {
  return wsTextFrame(JSON.stringify(channel === undefined ? { event, data } : { event, channel, data }));
}

/** `pusher:error` with a Pusher error code (`null` where Pusher gives none) and a message. */
export function pusherErrorFrame(code: number | null, message: string): Buffer {
  return pusherFrame('pusher:error', { code, message });
}
