import { parseCursor } from '@herald/protocol';

/**
 * Turns compact message items (`[ref, offset, time, data, epoch?, cursor?]`) back into the full
 * envelopes the JSON protocol sends, as a client does: refs name channels (the subscribe reply's
 * `ref` on a WebSocket, the index in the request's channels over SSE and polling), and the epoch of
 * an item without one is the last one told for its channel (reply, `ready` cursor, gap, item).
 */
export class CompactExpander {
  readonly #channels = new Map<number, string>();
  readonly #epochs = new Map<string, string>();

  /** Names `ref` and the channel's epoch (a subscribe reply; SSE/polling: the request's channels). */
  bind(ref: number, channel: string, epoch?: string): void {
    this.#channels.set(ref, channel);
    if (epoch !== undefined) this.#epochs.set(channel, epoch);
  }

  /** The channel's epoch as told by a gap or a cursor. */
  told(channel: string, epoch: string): void {
    this.#epochs.set(channel, epoch);
  }

  /** Takes the epochs of every channel of a cursor (SSE `ready`, a poll's cursor). */
  toldCursor(cursor: string): void {
    const parsed = parseCursor(cursor);
    if (parsed.ok) for (const [channel, position] of parsed.value) this.#epochs.set(channel, position.epoch);
  }

  /** Whether `frame` is a compact item (an array). */
  static isItem(frame: unknown): frame is unknown[] {
    return Array.isArray(frame);
  }

  /**
   * The full envelope of a compact item, or for a compact delta item (negative ref, `-ref-1`) the
   * JSON `delta` push; throws on an unknown ref or a missing epoch.
   */
  expand(item: unknown[]): Record<string, unknown> {
    const [ref, offset, time, data, epoch, cursor] = item as [number, number, number, unknown, string | null | undefined, string?];
    if (ref < 0) {
      const { data: delta, ...rest } = this.expand([-ref - 1, ...item.slice(1)]);
      return { ...rest, type: 'delta', delta };
    }
    const channel = this.#channels.get(ref);
    if (channel === undefined) throw new Error(`compact item with unknown ref ${ref}`);
    if (typeof epoch === 'string') this.#epochs.set(channel, epoch);
    const known = this.#epochs.get(channel);
    if (known === undefined) throw new Error(`compact item for ${channel} before any epoch`);
    return { type: 'message', channel, offset, epoch: known, time, data, ...(cursor !== undefined && { cursor }) };
  }
}
