import type { FrontDoor, FrontDoorFactory, FrontDoorParts } from '../http/front-door.js';
import type { FrontDoorContext } from '../http/front-doors.js';
import type { Transport } from '../transport/transport.js';
import { pusherApiRoute, type PusherTerminator } from './pusher-api.js';
import { resolvePusherOptions } from './pusher-door-options.js';
import type { PusherAppOptions, PusherOptions } from './pusher-options.js';
import { pusherWebhookMetrics } from './pusher-webhook-metrics.js';
import { PusherWebhooks } from './pusher-webhooks.js';

/** The control message type asking every node to end an app user's Pusher connections. */
const TERMINATE = 'pusher-terminate';

function isTerminator(transport: Transport<string>): transport is Transport<string> & PusherTerminator {
  return transport.name === 'pusher' && typeof (transport as Partial<PusherTerminator>).terminateUser === 'function';
}

/**
 * The Pusher HTTP API (`/apps/{id}/…`) and the apps' webhooks, as a front door. Checks the
 * options with `resolvePusherOptions` (as the WebSocket door does) and the webhook endpoints, and
 * throws (`TypeError`/`RangeError`) before anything starts. `terminate_connections` calls the Pusher
 * WebSocket transport's `terminateUser` (the transport named `pusher` in the server's registry,
 * when there is one) on this node and, on a cluster, on every other through a control message.
 */
export function pusherApiDoor(options: PusherOptions, context: FrontDoorContext): FrontDoorFactory {
  // One validation for both Pusher doors (the WebSocket door checks the same options first).
  const resolved = resolvePusherOptions(options);
  const apps = new Map<string, PusherAppOptions>(resolved.apps.map((app) => [app.id, app.options]));
  const window = resolved.timestampWindow;
  const webhooks = PusherWebhooks.create(options, context);
  return {
    webhooks,
    build(parts: FrontDoorParts): FrontDoor {
      const { hub } = parts;
      if (parts.metrics !== undefined) webhooks?.observe(pusherWebhookMetrics(parts.metrics.registry));
      const terminateHere = (appId: string, userId: string): number => {
        const transport = [...parts.transports].find(isTerminator);
        return transport === undefined ? 0 : transport.terminateUser(appId, userId);
      };
      const unfollow = hub.onControl((payload) => {
        if (!payload.includes(TERMINATE)) return;
        try {
          const message = JSON.parse(payload) as Record<string, unknown>;
          const { type, node, app, user } = message;
          if (type !== TERMINATE || node === parts.nodeId || typeof app !== 'string' || typeof user !== 'string') return;
          const n = terminateHere(app, user);
          if (n > 0) parts.logger.info({ app, user, sessions: n }, 'Pusher connections terminated on request of another node');
        } catch {
          // Not ours.
        }
      });
      const route = pusherApiRoute({
        hub,
        apps,
        now: () => parts.clock.now(),
        timestampWindow: window,
        maxBodyBytes: parts.limits.maxBodyBytes,
        admit: (req, res, kind, cors) => parts.requests.admitAddress(req, res, kind, cors),
        terminateUser: async (appId, userId) => {
          const n = terminateHere(appId, userId);
          if (hub.clustered) await hub.broadcast(JSON.stringify({ type: TERMINATE, node: parts.nodeId, app: appId, user: userId }));
          return n;
        },
      });
      return {
        routes: [['/apps/*', route]],
        start: () => webhooks?.start(),
        close: async () => {
          unfollow();
          await webhooks?.close();
        },
      };
    },
  };
}
