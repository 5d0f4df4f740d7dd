/**
 * How the Pusher and Mercure doors meet Herald's messages: an event `E` with text data `D` (a
 * Pusher event, a Mercure update's `type` and `data`) is the Herald message data
 * `{"event": E, "data": D}`, with `D` parsed as JSON where it parses (see {@link eventData}); any Herald message whose data
 * has that shape (an object with a string `event` and a `data` member; other members are ignored)
 * is event `E` with data `D` at those doors, and any other message is event `message` with its
 * whole data.
 */
export interface DoorEvent {
  readonly event: string;
  /** The data as text: a string as it is, any other JSON value serialised. */
  readonly text: string;
}

/** The event of messages that are not `{event, data}`. */
export const DEFAULT_EVENT = 'message';

/**
 * The Herald message data for event `event` with text `text`. `exact`: parse `text` only when
 * serialising the parsed value gives back the same text (Mercure updates and Pusher HTTP API events:
 * a subscriber receives the bytes that were sent); otherwise wherever it parses (Pusher client
 * events, whose data arrives as a JSON value). Text holding a JSON string (`"hi"`) is never parsed
 * (it would come back as `hi`). Extra members (`extra`) join the object.
 */
export function eventData(event: string, text: string, exact = false, extra?: Record<string, unknown>): Record<string, unknown> {
  let data: unknown = text;
  try {
    const parsed: unknown = JSON.parse(text);
    // A JSON string stays text: `readEvent` gives a string data as it is, so `"hi"` must not become `hi`.
    if (typeof parsed !== 'string' && (!exact || JSON.stringify(parsed) === text)) data = parsed;
  } catch {
    // Not JSON: the text itself.
  }
  return { ...extra, event, data };
}

/** The event a Herald message's data (its JSON text) is at the Pusher and Mercure doors. */
export function readEvent(json: string): DoorEvent {
  // Only an object can have the shape; the common case of other data is not parsed twice.
  if (json.charCodeAt(0) === 123 /* { */) {
    try {
      const value = JSON.parse(json) as unknown;
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        const { event, data } = value as { event?: unknown; data?: unknown };
        if (typeof event === 'string' && 'data' in value)
          return { event, text: typeof data === 'string' ? data : (JSON.stringify(data) ?? 'null') };
      }
    } catch {
      // Stored data is always JSON; unreachable, but a malformed one is still a message.
    }
  }
  return { event: DEFAULT_EVENT, text: json };
}
