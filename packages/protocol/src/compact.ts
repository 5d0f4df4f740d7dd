/** The WebSocket subprotocol of the compact envelope: JSON text frames, message pushes as {@link CompactMessage}. */
export const COMPACT_SUBPROTOCOL = 'herald.compact';

/** The WebSocket subprotocol of MessagePack: every frame binary, message pushes as a msgpack {@link CompactMessage}. */
export const MSGPACK_SUBPROTOCOL = 'herald.msgpack';

/**
 * A message push in the compact envelope (`herald.compact`, `herald.msgpack`, SSE and polling with
 * `format=compact`): `[ref, offset, time, data]`, then `epoch` only when it differs from the last epoch
 * the client was told for the channel (in the subscribe reply, a gap or an earlier push), then `cursor`
 * (the hub-signed cursor, only for a client that may not read the channel's history; the epoch slot
 * is then the epoch or `null`). `ref` names the channel: on a WebSocket the `ref` of the subscribe
 * reply, over SSE and polling the channel's 0-based index in the request's `channel` parameters.
 * A negative `ref` marks a delta push (`-ref-1`, the 4th element holding the delta string in place
 * of the data; see `DeltaPush`), sent only to a client that asked for deltas.
 */
export type CompactMessage =
  | readonly [ref: number, offset: number, time: number, data: unknown]
  | readonly [ref: number, offset: number, time: number, data: unknown, epoch: string | null]
  | readonly [ref: number, offset: number, time: number, data: unknown, epoch: string | null, cursor: string];
