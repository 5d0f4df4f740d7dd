import type { Clock } from '../clock.js';
import type { Hub } from '../hub/hub.js';
import type { Logger } from '../logger.js';
import type { TransportCounts } from '../transport/transport.js';

/** One node as `GET /api/admin/nodes` lists it. */
export interface NodeSummary {
  /** The node's id (random per process; the `node` of its control messages). */
  readonly id: string;
  /** When the node started, in milliseconds since the Unix epoch. */
  readonly startedAt: number;
  /** When this summary was taken (the node's latest sample). */
  readonly sampledAt: number;
  /** Whether the node takes new connections (not draining) and its engine answers. */
  readonly ready: boolean;
  /** Open connections per transport (long polls held for `polling`). */
  readonly connections: Readonly<TransportCounts>;
  /** Channels with a subscriber or a held poll on the node. */
  readonly channels: number;
  /** Publishes stored and live messages delivered per second, over the node's last sample interval. */
  readonly messagesPerSecond: { readonly published: number; readonly delivered: number };
}

/** Intervals a peer may stay silent before it is dropped from the list. */
const MISSED_BEATS = 3;

/**
 * The cluster's nodes as this one knows them. After each sample every node sends its summary to
 * the others as a control message (`{"type":"node","node","summary"}`, on Redis a PUBLISH on the
 * control channel, the one `POST /api/disconnect` uses) and says `{"type":"node-left"}` when it
 * closes; a peer silent for {@link MISSED_BEATS} intervals is forgotten. On one node (the memory
 * engine) nothing is sent and the list is the node alone.
 */
export class NodeDirectory {
  readonly #hub: Hub;
  readonly #nodeId: string;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #interval: number;
  readonly #peers = new Map<string, { summary: NodeSummary; seenAt: number }>();
  readonly #stop: () => void;
  #warned = false;

  constructor(hub: Hub, nodeId: string, interval: number, clock: Clock, logger: Logger) {
    this.#hub = hub;
    this.#nodeId = nodeId;
    this.#interval = interval;
    this.#clock = clock;
    this.#logger = logger;
    this.#stop = hub.onControl((payload) => this.#receive(payload));
  }

  /** Sends this node's summary to the others (nothing on one node); never rejects. */
  beat(summary: NodeSummary): void {
    if (!this.#hub.clustered) return;
    this.#hub.broadcast(JSON.stringify({ type: 'node', node: this.#nodeId, summary })).then(
      () => (this.#warned = false),
      (error: unknown) => {
        // Once per outage: the engine's own warnings already say it is down.
        if (!this.#warned) this.#logger.warn({ err: error }, 'node summary not sent to the cluster');
        this.#warned = true;
      },
    );
  }

  /** This node first, then the peers heard from recently, by id. */
  list(self: NodeSummary): NodeSummary[] {
    const oldest = this.#clock.now() - MISSED_BEATS * this.#interval;
    const peers: NodeSummary[] = [];
    for (const [id, peer] of this.#peers) {
      if (peer.seenAt < oldest) this.#peers.delete(id);
      else peers.push(peer.summary);
    }
    peers.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return [self, ...peers];
  }

  /** Tells the other nodes this one is leaving and stops listening; resolves when sent (or not). */
  async close(): Promise<void> {
    this.#stop();
    if (!this.#hub.clustered) return;
    await this.#hub.broadcast(JSON.stringify({ type: 'node-left', node: this.#nodeId })).catch(() => undefined);
  }

  #receive(payload: string): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(payload) as Record<string, unknown>;
    } catch {
      return;
    }
    const node = message['node'];
    if (typeof node !== 'string' || node === this.#nodeId) return;
    if (message['type'] === 'node-left') this.#peers.delete(node);
    else if (message['type'] === 'node' && isSummary(message['summary'], node))
      this.#peers.set(node, { summary: message['summary'], seenAt: this.#clock.now() });
  }
}

/** Whether a peer's summary has the fields the list shows (another version may send more). */
function isSummary(value: unknown, node: string): value is NodeSummary {
  if (typeof value !== 'object' || value === null) return false;
  const summary = value as Record<string, unknown>;
  return (
    summary['id'] === node &&
    typeof summary['startedAt'] === 'number' &&
    typeof summary['connections'] === 'object' &&
    summary['connections'] !== null &&
    typeof summary['messagesPerSecond'] === 'object' &&
    summary['messagesPerSecond'] !== null
  );
}
