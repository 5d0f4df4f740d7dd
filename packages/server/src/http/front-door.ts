import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Security } from '../auth/security.js';
import type { Clock } from '../clock.js';
import type { Hub } from '../hub/hub.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ConnectionLimiter } from '../transport/connection-limiter.js';
import type { TransportRegistry } from '../transport/transport-registry.js';
import type { WebhookSink } from '../webhooks/webhook-sink.js';
import type { Readiness } from './readiness.js';
import type { RequestLimiter } from './request-limiter.js';
import type { Route } from './route.js';
import type { ServerLimits } from './server-options.js';

/** What a front door is built from: the hub and the server's shared parts (see {@link FrontDoorFactory.build}). */
export interface FrontDoorParts {
  readonly hub: Hub;
  readonly security: Security;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly metrics: Metrics | undefined;
  /** The server's transports: a door adds its own (its connections are counted, listed, drained and closed with the others). */
  readonly transports: TransportRegistry;
  readonly readiness: Readiness;
  /** Per-IP, per-user and total connection limits, shared by every door. */
  readonly connections: ConnectionLimiter;
  /** The HTTP request rate limits (publish, poll, history, ticket). */
  readonly requests: RequestLimiter;
  readonly limits: ServerLimits;
  /** This node's id in control messages to the other nodes. */
  readonly nodeId: string;
}

/**
 * A protocol other than Herald's own served on the same channel logs (the Pusher Channels protocol,
 * Mercure): its HTTP routes and WebSocket upgrades. Its connections are a transport it adds to
 * {@link FrontDoorParts.transports}.
 */
export interface FrontDoor {
  /**
   * Its routes by path under the mount path. A path ending in `/*` is a prefix: `/apps/*` answers
   * `/apps/1/events` (the longest matching prefix wins; an exact path wins over any prefix).
   */
  readonly routes: readonly (readonly [string, Route])[];
  /**
   * Takes an upgrade to `path` (under the mount path) when it is the door's own and returns true;
   * returns false and touches nothing otherwise.
   */
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer, path: string): boolean;
  /** Whether an upgrade to `path` would be the door's own (a root-mounted hub leaves others to the app). */
  ownsUpgrade?(path: string): boolean;
  /** Starts background work (webhook workers), once the whole server is composed. */
  start?(): void;
  /** Stops its background work, after the transports closed and before the engine does. */
  close?(): Promise<void>;
}

/**
 * A front door in two steps: its webhook sink exists before the hub (the hub sends its presence,
 * channel and client-publish events to every door's sink and to Herald's own), the door itself is
 * built on the hub.
 */
export interface FrontDoorFactory {
  /** The door's webhook events (e.g. Pusher's webhooks), or undefined when it sends none. */
  readonly webhooks?: WebhookSink | undefined;
  build(parts: FrontDoorParts): FrontDoor;
}
