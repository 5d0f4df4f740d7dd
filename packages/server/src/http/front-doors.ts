import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { mercureDoor } from '../mercure/mercure-door.js';
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
  // Each door adds itself: `if (options.pusher !== undefined) factories.push(pusherDoor(options.pusher, context));`
  for (const door of [options.pusher]) if (door !== undefined) context.logger.warn({}, 'front door not built yet');
  if (options.mercure !== undefined) factories.push(mercureDoor(options.mercure, context));
  return factories;
}
