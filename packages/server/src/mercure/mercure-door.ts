import type { FrontDoorFactory, FrontDoorParts } from '../http/front-door.js';
import type { FrontDoorContext } from '../http/front-doors.js';
import { resolveMercureConfig } from './mercure-config.js';
import { MERCURE_PATH } from './mercure-http.js';
import type { MercureOptions } from './mercure-options.js';
import { mercureRoute } from './mercure-routes.js';
import { MercureTransport } from './mercure-transport.js';
import { SubscriptionEvents, subscriptionsRoute } from './subscriptions.js';

/**
 * The Mercure door (draft-dunglas-mercure-07): subscribe and publish at `/.well-known/mercure`, and
 * with `subscriptions: true` the subscriptions API and subscription events. Checks `options` at
 * once (a bad one throws before anything starts). Its subscribers are the transport `mercure`.
 */
export function mercureDoor(options: MercureOptions, context: FrontDoorContext): FrontDoorFactory {
  const config = resolveMercureConfig(options);
  return {
    build(parts: FrontDoorParts) {
      const { hub, limits, logger } = parts;
      const events = config.subscriptions ? new SubscriptionEvents(hub, logger) : undefined;
      const transport = parts.transports.add(
        new MercureTransport(
          hub,
          {
            sendQueueBytes: limits.sendQueueBytes,
            heartbeatInterval: limits.heartbeatInterval,
            retry: limits.sseRetry,
            ...(events && { opened: (stream) => events.opened(stream), ended: (stream) => events.ended(stream) }),
          },
          logger,
          context.clock,
        ),
      );
      const routes: [string, ReturnType<typeof mercureRoute>][] = [[MERCURE_PATH, mercureRoute(config, parts, transport)]];
      if (config.subscriptions) {
        const route = subscriptionsRoute(config, hub);
        routes.push([`${MERCURE_PATH}/subscriptions`, route], [`${MERCURE_PATH}/subscriptions/*`, route]);
      }
      return { routes };
    },
  };
}
