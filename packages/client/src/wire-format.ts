import type { Position } from '@herald/protocol';

/**
 * How the client and the hub write frames other than plain JSON: `compact` from
 * `@herald/client/compact` (WebSocket subprotocol `herald.compact`, `format=compact` over SSE and
 * polling) or `msgpack` from `@herald/client/msgpack` (`herald.msgpack` on the WebSocket, compact
 * over SSE and polling). Separate entries, so the main bundle carries none of their code. The app
 * receives the same messages in every format.
 */
export interface WireFormat {
  /** The WebSocket subprotocol offered. */
  readonly protocol: string;
  /** A command as the frame to send. */
  encode(frame: object): string | Uint8Array<ArrayBuffer>;
  /**
   * A reader for one WebSocket connection, SSE stream or poll answer: turns each frame, SSE `data:`
   * or poll item into the JSON protocol's object (compact items into full envelopes). `names`: the
   * request's channels (SSE, polling: a compact item's ref is its channel's index); `since`: the
   * positions the request resumed from (polling: the epochs the client holds).
   */
  reader(names?: readonly string[], since?: ReadonlyMap<string, Position>): (data: unknown) => unknown;
}
