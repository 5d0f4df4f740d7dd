import type { Hub } from '../hub/hub.js';

/** ms an exclusion waits for its message; past it the entry is dropped unused (the socket was not subscribed, or left). */
export const EXCLUSION_TTL = 30_000;

/** Exclusions a node keeps at most; past it the oldest are dropped (their sockets then receive the event). */
export const MAX_EXCLUSIONS = 100_000;

/** The control message type (see {@link announceExclusion}). */
const CONTROL_TYPE = 'pusher-exclude';

interface Exclusion {
  readonly channel: string;
  readonly event: string;
  readonly text: string;
  readonly expires: number;
}

/**
 * The `socket_id` of Pusher's `POST /apps/{id}/events`: the event is not sent to that connection
 * (the one whose action the backend is answering). The message is stored as any other (`{event,
 * data}`, no trace of the socket); the exclusion travels beside it, out of band:
 *
 * - The HTTP API calls {@link announceExclusion} right before `hub.publish`: the entry
 *   `(socket, channel, event, data text)` goes into this node's table and, on a cluster, to every
 *   other node as a control message (sent before the publish, so a node receives it before the
 *   message: both travel through the engine in the order they were sent).
 * - The Pusher WebSocket door, about to send a message on `channel` to socket `S`, asks
 *   {@link ExcludedSockets.skips} with the `{event, text}` it read from the message (`readEvent`):
 *   true once for a matching entry, which is then consumed.
 *
 * The table is one per hub (see {@link excludedSockets}), bounded ({@link MAX_EXCLUSIONS}) and
 * entries expire after {@link EXCLUSION_TTL}. `skips` costs one map lookup per message while no
 * exclusion is pending for the socket.
 */
export class ExcludedSockets {
  /** Per socket id, its pending exclusions (a few at most). */
  readonly #bySocket = new Map<string, Exclusion[]>();
  #size = 0;
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Pending exclusions on this node. */
  get size(): number {
    return this.#size;
  }

  /** Records that socket `socket` must not receive the next event `event` with data `text` on (Herald) `channel`. */
  add(socket: string, channel: string, event: string, text: string): void {
    const now = this.#now();
    if (this.#size >= MAX_EXCLUSIONS) this.#prune(now, true);
    let list = this.#bySocket.get(socket);
    if (list === undefined) this.#bySocket.set(socket, (list = []));
    list.push({ channel, event, text, expires: now + EXCLUSION_TTL });
    this.#size++;
  }

  /**
   * Whether the message (`event`, `text`: the Pusher event it is, see `readEvent`) on (Herald)
   * `channel` must be skipped for socket `socket`: true once per matching {@link add}.
   */
  skips(socket: string, channel: string, event: string, text: string): boolean {
    if (this.#size === 0) return false;
    const list = this.#bySocket.get(socket);
    if (list === undefined) return false;
    const now = this.#now();
    const index = list.findIndex((e) => e.expires > now && e.channel === channel && e.event === event && e.text === text);
    if (index < 0) return false;
    list.splice(index, 1);
    this.#size--;
    if (list.length === 0) this.#bySocket.delete(socket);
    return true;
  }

  /** Drops expired entries (and, when `full`, the oldest half of the rest's sockets). */
  #prune(now: number, full: boolean): void {
    for (const [socket, list] of this.#bySocket) {
      const kept = list.filter((e) => e.expires > now);
      this.#size -= list.length - kept.length;
      if (kept.length === 0) this.#bySocket.delete(socket);
      else this.#bySocket.set(socket, kept);
    }
    if (!full || this.#size < MAX_EXCLUSIONS) return;
    let drop = Math.ceil(this.#bySocket.size / 2);
    // A Map iterates in insertion order: the sockets that got an exclusion first go first.
    for (const [socket, list] of this.#bySocket) {
      if (drop-- <= 0) break;
      this.#size -= list.length;
      this.#bySocket.delete(socket);
    }
  }
}

const tables = new WeakMap<Hub, ExcludedSockets>();

/**
 * The hub's exclusion table, shared by the Pusher doors of this node; created on first use, when
 * it also starts following other nodes' {@link announceExclusion} control messages.
 */
export function excludedSockets(hub: Hub, now: () => number): ExcludedSockets {
  let table = tables.get(hub);
  if (table !== undefined) return table;
  const created = (table = new ExcludedSockets(now));
  tables.set(hub, created);
  hub.onControl((payload) => {
    // Cheap test first: most control messages are others'.
    if (!payload.includes(CONTROL_TYPE)) return;
    try {
      const message = JSON.parse(payload) as Record<string, unknown>;
      const { type, socket, channel, event, text } = message;
      if (type !== CONTROL_TYPE) return;
      if (typeof socket === 'string' && typeof channel === 'string' && typeof event === 'string' && typeof text === 'string')
        created.add(socket, channel, event, text);
    } catch {
      // Not ours.
    }
  });
  return table;
}

/**
 * Tells this node and every other one that `socket` must not receive the event about to be
 * published (see {@link ExcludedSockets}); resolves once the engine took the control message.
 * Call it before the publish.
 */
export async function announceExclusion(
  hub: Hub,
  now: () => number,
  socket: string,
  channel: string,
  event: string,
  text: string,
): Promise<void> {
  excludedSockets(hub, now).add(socket, channel, event, text);
  if (hub.clustered) await hub.broadcast(JSON.stringify({ type: CONTROL_TYPE, socket, channel, event, text }));
}
