import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { pusherWsDoor } from '../pusher/pusher-ws-door.js';
import type { FrontDoorFactory } from './front-door.js';
import type { HeraldOptions } from './server-options.js';

/** What a door's factory needs before the hub exists. */
export interface FrontDoorContext {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly nodeId: string;
}

/**
 * The front doors the options configure, in a fixed order. Each door's options are checked here,
 * before anything starts: a bad one throws and opens nothing.
 */
export function frontDoorFactories(options: HeraldOptions, context: FrontDoorContext): FrontDoorFactory[] {
  const factories: FrontDoorFactory[] = [];
  // The Pusher WebSocket door first: its transport (`pusher`) is the one the Pusher HTTP API finds.
  if (options.pusher !== undefined) factories.push(pusherWsDoor(options.pusher, context));
  // Each door adds itself: `if (options.mercure !== undefined) factories.push(mercureDoor(options.mercure, context));`
  if (options.mercure !== undefined) context.logger.warn({}, 'front door not built yet');
  return factories;
}
