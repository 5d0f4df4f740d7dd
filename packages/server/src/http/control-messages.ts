import type { Hub } from '../hub/hub.js';
import type { Logger } from '../logger.js';
import type { ConnectionMatch } from '../transport/transport.js';
import type { TransportRegistry } from '../transport/transport-registry.js';

/** The control message asking every other node to end a user's or a session's connections. */
export function disconnectMessage(node: string, target: ConnectionMatch): string {
  return JSON.stringify({ type: 'disconnect', node, ...target });
}

/**
 * Ends the connections another node's `POST /api/disconnect` names, on this node's transports.
 * Messages this node sent (`nodeId`) and malformed ones are ignored. Returns the unsubscribe.
 */
export function followDisconnects(hub: Hub, transports: TransportRegistry, nodeId: string, logger: Logger): () => void {
  return hub.onControl((payload) => {
    const message = parseControl(payload);
    if (message === undefined || message.node === nodeId) return;
    const n = transports.disconnect(message.target);
    if (n > 0) logger.info({ ...message.target, sessions: n }, 'sessions disconnected on request of another node');
  });
}

/**
 * Asks every other node to end the polling sessions `clients` (ids this node ended because their
 * user was disconnected): one `client` disconnect each, which a node records even for a session
 * it does not know. Fire and forget: a failure is logged (the request that ended them was answered,
 * or was sent by another node). Does nothing on a hub without other nodes.
 */
export function announceEnded(hub: Hub, nodeId: string, logger: Logger): (clients: readonly string[]) => void {
  return (clients) => {
    if (!hub.clustered) return;
    for (const client of clients) {
      hub.broadcast(disconnectMessage(nodeId, { client })).catch((error: unknown) => {
        logger.warn({ err: error, client }, 'other nodes not told of an ended polling session');
      });
    }
  };
}

/** Reads a control message of another node (`{"type":"disconnect","node","user"|"client"}`). */
function parseControl(payload: string): { node: string; target: ConnectionMatch } | undefined {
  try {
    const message = JSON.parse(payload) as Record<string, unknown>;
    if (message['type'] !== 'disconnect' || typeof message['node'] !== 'string') return undefined;
    const { user, client } = message;
    const target = {
      ...(typeof user === 'string' && user !== '' && { user }),
      ...(typeof client === 'string' && client !== '' && { client }),
    };
    return target.user === undefined && target.client === undefined ? undefined : { node: message['node'], target };
  } catch {
    return undefined;
  }
}
