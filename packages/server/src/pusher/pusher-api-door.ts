import type { FrontDoor, FrontDoorFactory, FrontDoorParts } from '../http/front-door.js';
import type { FrontDoorContext } from '../http/front-doors.js';
import type { Transport } from '../transport/transport.js';
import { pusherApiRoute, type PusherTerminator } from './pusher-api.js';
import type { PusherAppOptions, PusherOptions } from './pusher-options.js';
import { pusherWebhookMetrics } from './pusher-webhook-metrics.js';
import { PusherWebhooks } from './pusher-webhooks.js';

/** Seconds an HTTP API request's `auth_timestamp` may differ from the hub's clock (Pusher's 600). */
export const DEFAULT_TIMESTAMP_WINDOW = 600;

/** The control message type asking every node to end an app user's Pusher connections. */
const TERMINATE = 'pusher-terminate';

function isTerminator(transport: Transport<string>): transport is Transport<string> & PusherTerminator {
  return transport.name === 'pusher' && typeof (transport as Partial<PusherTerminator>).terminateUser === 'function';
}

/**
 * The Pusher HTTP API (`/apps/{id}/…`) and the apps' webhooks, as a front door. Checks what it
 * uses of the options (app ids unique, `timestampWindow`, webhook endpoints) and throws
 * (`TypeError`/`RangeError`) before anything starts. `terminate_connections` calls the Pusher
 * WebSocket transport's `terminateUser` (the transport named `pusher` in the server's registry,
 * when there is one) on this node and, on a cluster, on every other through a control message.
 */
export function pusherApiDoor(options: PusherOptions, context: FrontDoorContext): FrontDoorFactory {
  const apps = new Map<string, PusherAppOptions>();
  for (const app of options.apps) {
    if (typeof app.id !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(app.id))
      throw new TypeError(`pusher.apps[].id must be 1 to 64 characters of A-Z a-z 0-9 _ - (got ${JSON.stringify(app.id)})`);
    if (apps.has(app.id)) throw new TypeError(`pusher.apps[].id ${app.id} is given twice`);
    if (typeof app.key !== 'string' || app.key === '' || typeof app.secret !== 'string' || app.secret === '')
      throw new TypeError(`pusher.apps[${app.id}] needs a key and a secret`);
    apps.set(app.id, app);
  }
  const window = options.timestampWindow ?? DEFAULT_TIMESTAMP_WINDOW;
  if (!Number.isFinite(window) || window < 1) throw new RangeError('pusher.timestampWindow must be a number of seconds, at least 1');
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
