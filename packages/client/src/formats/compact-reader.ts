import { parseCursor, type Position } from '@herald/protocol';

/** The fields of the frames the reader learns refs and epochs from (a reply, a gap, SSE `ready`). */
interface Frame {
  readonly type?: unknown;
  readonly ref?: unknown;
  readonly channel?: string;
  readonly position?: Position;
  readonly resumed?: Position;
  readonly cursor?: string;
}

/**
 * Reads the frames of one WebSocket connection, SSE stream or poll answer in the compact envelope:
 * JSON text (or bytes, through `decodeBinary`) and already-parsed values alike. Compact items
 * `[ref, offset, time, data, epoch?, cursor?]` become the full envelopes of the JSON protocol: a ref
 * names the channel of the subscribe reply that carried it (WebSocket) or the request's channel at
 * that index (SSE, polling); an item without an epoch has the one last told for its channel (by the
 * subscribe reply, the SSE `ready` cursor, the request's `since`, a gap or an earlier item). A
 * compact delta item (negative ref, `-ref-1`, the delta string in place of the data) reads as the
 * JSON delta push (`{type: 'delta', …, delta}`), which the client applies as any other; every other
 * frame is returned as it is.
 */
export function compactReader(
  names: readonly string[] = [],
  since: ReadonlyMap<string, Position> | undefined,
  decodeBinary: ((data: ArrayBuffer | Uint8Array) => unknown) | undefined,
): (data: unknown) => unknown {
  const channels = [...names];
  const epochs = new Map<string, string>();
  for (const [channel, position] of since ?? []) epochs.set(channel, position.epoch);
  return (data) => {
    const value: unknown =
      typeof data === 'string'
        ? (JSON.parse(data) as unknown)
        : decodeBinary !== undefined && (data instanceof ArrayBuffer || ArrayBuffer.isView(data))
          ? decodeBinary(data as ArrayBuffer | Uint8Array)
          : data;
    if (Array.isArray(value)) {
      const [ref, offset, time, payload, epoch, cursor] = value as [number, number, number, unknown, (string | null)?, string?];
      const delta = ref < 0;
      const channel = channels[delta ? -ref - 1 : ref];
      if (channel === undefined) return { type: 'unknown' };
      if (typeof epoch === 'string') epochs.set(channel, epoch);
      return {
        type: delta ? 'delta' : 'message',
        channel,
        offset,
        epoch: epochs.get(channel),
        time,
        [delta ? 'delta' : 'data']: payload,
        ...(cursor !== undefined && { cursor }),
      };
    }
    const frame = value as Frame | null;
    if (frame?.type === 'reply' && typeof frame.ref === 'number') {
      channels[frame.ref] = frame.channel!;
      epochs.set(frame.channel!, frame.position!.epoch);
    } else if (frame?.type === 'gap') epochs.set(frame.channel!, frame.resumed!.epoch);
    else if (frame?.type === 'ready') {
      const parsed = parseCursor(frame.cursor!);
      if (parsed.ok) for (const [channel, position] of parsed.value) epochs.set(channel, position.epoch);
    }
    return value;
  };
}
