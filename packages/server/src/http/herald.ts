import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode, type PublishResult } from '@herald/protocol';
import { Security } from '../auth/security.js';
import { ProxyHooks } from '../hooks/proxy-hooks.js';
import { MemoryWebhookQueue } from '../webhooks/memory-webhook-queue.js';
import { WebhookDispatcher } from '../webhooks/webhook-dispatcher.js';
import type { WebhookSink } from '../webhooks/webhook-sink.js';
import { resolveWebhooks } from '../webhooks/webhooks-options.js';
import { webhookMetrics } from '../metrics/webhook-metrics.js';
import { systemClock } from '../clock.js';
import type { Broker, PresenceStore } from '../engine/broker.js';
import { DEFAULT_HISTORY_SIZE, DEFAULT_HISTORY_TTL } from '../engine/history-policy.js';
import { Hub, type PublishCallOptions } from '../hub/hub.js';
import { silentLogger } from '../logger.js';
import { MemoryBroker } from '../memory/memory-broker.js';
import { MemoryPresenceStore } from '../memory/memory-presence-store.js';
import { MemoryAckStore } from '../memory/memory-ack-store.js';
import { resolveAckLimits, type AckStore } from '../engine/ack-store.js';
import { timerMs } from '../timer-delay.js';
import { Acks } from '../acks/acks.js';
import { AckWebhooks, DEFAULT_ACK_WEBHOOK_INTERVAL } from '../acks/ack-webhooks.js';
import { Metrics } from '../metrics/metrics.js';
import { ConnectionLimiter } from '../transport/connection-limiter.js';
import { PollingTransport } from '../transport/polling-transport.js';
import { PollerPresence } from '../transport/poller-presence.js';
import { SseTransport } from '../transport/sse-transport.js';
import type { ConnectionMatch, TransportCounts, TransportName } from '../transport/transport.js';
import { TransportRegistry } from '../transport/transport-registry.js';
import { WsTransport } from '../transport/ws-transport.js';
import { attachListeners, type AttachableServer } from './attach.js';
import { fanOutSink } from '../webhooks/fan-out-sink.js';
import type { FrontDoor } from './front-door.js';
import { frontDoorFactories } from './front-doors.js';
import { admitRequest } from './connection-budget.js';
import { announceEnded, followDisconnects } from './control-messages.js';
import { normalizeMountPath, pathUnder, requestPath, shownPath } from './mount-path.js';
import { MemoryRateLimitStore, type RateLimitStore } from './rate-limit-store.js';
import { Readiness } from './readiness.js';
import { headTooLargeBody, tooManyHeaders } from './request-head.js';
import { RequestLimiter } from './request-limiter.js';
import { resolveRequestLimits } from './request-limits.js';
import { sendError, sendJsonText } from './respond.js';
import { routeTable } from './route-table.js';
import { createRouter } from './router.js';
import { resolveCompression } from '../transport/compression-options.js';
import { resolveLimits, type HeraldOptions, type HeraldServerOptions } from './server-options.js';
import { upgradeHandler } from './upgrade.js';
import { AdminSampler, type AdminSample } from '../admin/admin-sampler.js';
import { NodeDirectory, type NodeSummary } from '../admin/node-directory.js';

/** Options of {@link Herald.attach}. */
export interface AttachOptions {
  /** Path prefix on this server (normalised like `HeraldOptions.path`). @default the hub's `path` */
  readonly path?: string | undefined;
}

/**
 * A hub with its engine, transports and routes, on no server of its own: put it on the app's
 * server with {@link Herald.attach}, or call {@link Herald.handleRequest} and
 * {@link Herald.handleUpgrade} from the app's framework. Paths are under its mount path
 * (`HeraldOptions.path`): `/realtime/events`, `/realtime/ws`, `/realtime/api/publish`, …
 */
export interface Herald {
  readonly hub: Hub;
  readonly security: Security;
  /** The normalised mount path: `''` (the root) or `/a/b`. */
  readonly path: string;
  /**
   * Answers the request when it is the hub's and returns true (the answer may still be under way);
   * returns false and touches nothing otherwise. Under a mount path every path below it is the
   * hub's (an unknown one answers 404 with code 1010); at the root only the hub's own paths are.
   * The request's body must not have been read (no body parser before it): a body that was is
   * answered `500` with code `3000` (`the request body was already read by the app …`).
   */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean;
  /**
   * Takes the upgrade when it is the hub's (`${path}/ws`; under a mount path any path below it,
   * answered 404 unless it is `/ws`) and returns true; returns false and touches nothing otherwise.
   * Both return false once {@link Herald.close} was called.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /**
   * Serves the hub on a `node:http` or `node:https` server of the app's, under `options.path`
   * (default: the hub's `path`): the hub decides first, synchronously, and the server's `request`
   * and `upgrade` listeners (present or added later, in any order) run only for what it does not
   * take. Several hubs, or one hub under several paths, may share a server. The server's limits
   * (`maxHeaderSize`, `headersTimeout`, `requestTimeout`, `clientError`) stay the app's.
   *
   * @throws Error once {@link Herald.close} was called (`cannot attach a closed Herald …`)
   * @returns detach: the hub leaves the server (also done by {@link Herald.close}); any order of
   *   attaches and detaches leaves every other attach and listener working
   */
  attach(server: AttachableServer, options?: AttachOptions): () => void;
  /** Appends `data` to the channel's log (see `Hub.publish`); resolves once the engine stored it. */
  publish(channel: string, data: unknown, options?: PublishCallOptions): Promise<PublishResult>;
  /** Whether `/readyz` (`/healthz`) answers 200 and upgrades are taken: from creation (mounted) or `listen` (standalone) until {@link Herald.drain}. */
  readonly ready: boolean;
  /** Counts of open sessions per transport. */
  stats(): TransportCounts;
  /** Ends the WebSocket sessions, SSE streams and polling sessions of a user or a session id; returns how many. */
  disconnect(match: ConnectionMatch): number;
  /** Drops every WebSocket and SSE connection abruptly, without close codes (for tests of connection loss). */
  dropConnections(): void;
  /**
   * Marks the node not ready: `/readyz` (`/healthz`) and new WebSocket upgrades answer `503`,
   * everything else (`/livez` too) keeps working. Call it some time before {@link close} so a load balancer stops routing here.
   */
  drain(): void;
  /**
   * Graceful stop of the hub, not of the app's server: the hub leaves every server it was attached
   * to, WebSocket sessions are closed with 4001 (cut after 1 s if the peer does not answer), SSE
   * streams end (clients reconnect after `retry`), held polls are answered, then the engine is closed.
   */
  close(): Promise<void>;
}

/** What {@link composeHerald} builds: the hub and the parts `createHeraldServer` needs besides. */
export interface HeraldParts {
  readonly herald: Herald;
  readonly readiness: Readiness;
  /** Everything not answered by an attached server goes here: the standalone server's whole traffic. */
  readonly serveAll: (req: IncomingMessage, res: ServerResponse) => void;
  readonly upgradeAll: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Closes the transports' connections (gracefully) and then the hub and the engine; once. */
  readonly closeHub: () => Promise<void>;
}

const URL_BASE = 'http://herald.invalid';

/** Waits for `promise` (if any) at most `ms` milliseconds; never rejects. */
async function boundedWait(promise: Promise<void> | undefined, ms: number): Promise<void> {
  if (promise === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** The URL extra routes see: the request's, with the path under the mount path (`/` for the mount path itself). */
function innerUrl(url: URL, path: string): URL {
  if (path === url.pathname) return url;
  return new URL(`${path === '' ? '/' : path}${url.search}`, URL_BASE);
}

/**
 * Creates a hub on no server (see {@link Herald}); ready at once. The composition root of a mounted
 * hub: the engine (memory unless `broker` and `presence` are given), the hub, the three transports
 * and the routes.
 */
export function createHerald(options: HeraldOptions = {}): Herald {
  const { herald, readiness } = composeHerald(options, undefined);
  readiness.listening();
  return herald;
}

/**
 * Wires a hub: options → engine → hub → transports → routes, and the request and upgrade handling
 * by mount path. `standalone` is the server `createHeraldServer` makes (its head limit, for 431
 * answers), or undefined for a hub mounted on the app's. The only place that names the memory engine.
 */
export function composeHerald(options: HeraldServerOptions, standalone: { readonly maxHeaderBytes: number } | undefined): HeraldParts {
  const mountPath = normalizeMountPath(options.path);
  const limits = resolveLimits(options);
  const compression = resolveCompression(options.compression);
  const requestLimits = resolveRequestLimits(options.requestLimits);
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  // Checked before anything starts: a bad option opens nothing.
  const webhookOptions = options.webhooks === undefined ? undefined : resolveWebhooks(options.webhooks);
  const ackOptions = options.acks === false ? undefined : (options.acks ?? {});
  if (ackOptions !== undefined) resolveAckLimits(ackOptions);
  const ackWebhookInterval = timerMs('acks.webhookInterval', ackOptions?.webhookInterval, DEFAULT_ACK_WEBHOOK_INTERVAL, 1);
  // The metrics exist a few lines on; hook calls only happen once the server serves.
  const hooks =
    options.hooks === undefined
      ? undefined
      : new ProxyHooks(options.hooks, { clock, observer: { called: (hook, outcome, ms) => metrics?.hooks.called(hook, outcome, ms) } });
  const security = new Security(options.security ?? {}, clock, hooks);
  const broker: Broker =
    options.broker ??
    new MemoryBroker({
      ...options,
      clock,
      historyFor:
        options.historyFor ??
        security.permissions.historyFor({
          size: options.historySize ?? DEFAULT_HISTORY_SIZE,
          ttl: options.historyTtl ?? DEFAULT_HISTORY_TTL,
        }),
    });
  const presence: PresenceStore = options.presence ?? new MemoryPresenceStore();
  const readiness = new Readiness();
  const engineAvailable = (): boolean => broker.isAvailable?.() !== false && presence.isAvailable?.() !== false;
  const transports = new TransportRegistry<TransportName>();
  const metrics: Metrics | undefined =
    options.metrics === false
      ? undefined
      : new Metrics({
          connections: () => transports.counts(),
          activeChannels: () => hub.activeChannels,
          ready: () => readiness.ready,
          engineAvailable,
        });
  const nodeId = randomBytes(9).toString('base64url');
  const startedAt = clock.now();
  const adminOn = options.admin === true;
  const summary = (sample: AdminSample | undefined): NodeSummary => ({
    id: nodeId,
    startedAt,
    sampledAt: sample?.t ?? clock.now(),
    ready: readiness.ready && engineAvailable(),
    connections: sample?.connections ?? transports.counts(),
    channels: hub.activeChannels,
    messagesPerSecond: { published: sample?.published ?? 0, delivered: sample?.delivered ?? 0 },
  });
  // The directory exists only once the hub does; the first sample comes an interval later.
  let nodes: NodeDirectory | undefined;
  const sampler = adminOn
    ? new AdminSampler({
        clock,
        interval: options.adminSampleInterval,
        connections: () => transports.counts(),
        onSample: (sample) => nodes?.beat(summary(sample)),
      })
    : undefined;
  const observer = sampler?.observe(metrics?.observer) ?? metrics?.observer;
  // Where webhook events go: the durable queue's dispatcher when `options.webhooks` is set.
  const webhookQueue = options.webhookQueue ?? (webhookOptions === undefined ? undefined : new MemoryWebhookQueue());
  const dispatcher =
    webhookOptions === undefined || webhookQueue === undefined
      ? undefined
      : new WebhookDispatcher(webhookOptions, {
          queue: webhookQueue,
          node: nodeId,
          clock,
          logger,
          observer: metrics === undefined ? undefined : webhookMetrics(metrics.registry, () => webhookQueue.counts()),
        });
  // The Pusher and Mercure doors, when configured: their webhook sinks exist before the hub.
  const factories = frontDoorFactories(options, { clock, logger, nodeId });
  // An embedder's own sink (webhookSink) takes the events instead of the queue; a door's gets them too.
  const webhooks: WebhookSink | undefined = fanOutSink([options.webhookSink ?? dispatcher, ...factories.map((f) => f.webhooks)]);
  const presenceDebounce = options.presenceDebounce ?? webhookOptions?.presenceDebounce;
  const hub: Hub = new Hub({
    broker,
    presence,
    logger,
    ...(webhooks && { webhooks }),
    ...(presenceDebounce !== undefined && { presenceDebounce }),
    ...(observer && { observer }),
    ...(options.positionCheckInterval !== undefined && { positionCheckInterval: options.positionCheckInterval }),
    ...(options.idempotencyTtl !== undefined && { idempotencyTtl: options.idempotencyTtl }),
    ...(options.deltaNamespaces !== undefined && { deltaNamespaces: checkDeltaNamespaces(options.deltaNamespaces) }),
  });
  const ackStore: AckStore | undefined = ackOptions === undefined ? undefined : (options.ackStore ?? new MemoryAckStore(ackOptions));
  const acks =
    ackStore === undefined
      ? undefined
      : new Acks({
          hub,
          store: ackStore,
          security,
          clock,
          logger,
          webhooks: webhooks === undefined ? undefined : new AckWebhooks(webhooks, ackWebhookInterval),
        });
  const connections = new ConnectionLimiter(limits.connectionsPerIp, limits.connectionsPerUser, limits.maxConnections);
  const rateLimitStore: RateLimitStore = options.rateLimitStore ?? new MemoryRateLimitStore(clock);
  const requests = new RequestLimiter(requestLimits, new MemoryRateLimitStore(clock), rateLimitStore, security, logger);
  const { maxChannels, sendQueueBytes, maxResponseBytes } = limits;
  const ws = transports.add(
    new WsTransport(
      hub,
      {
        maxChannels,
        sendQueueBytes,
        maxResponseBytes,
        maxMessageBytes: limits.maxMessageBytes,
        pingInterval: limits.pingInterval,
        commandsPerSecond: limits.commandsPerSecond,
        commandBurst: limits.commandBurst,
        claimUser: (user) => connections.acquireUser(user),
        compression,
        acks,
        ...(metrics && { onSlowConsumer: () => metrics.slowConsumer('websocket') }),
      },
      logger,
      security,
      clock,
    ),
  );
  const sse = transports.add(
    new SseTransport(
      hub,
      {
        maxChannels,
        sendQueueBytes,
        heartbeatInterval: limits.heartbeatInterval,
        retry: limits.sseRetry,
        compression,
        ...(metrics && { onSlowConsumer: () => metrics.slowConsumer('sse') }),
      },
      logger,
      security,
      clock,
    ),
  );
  const polling = transports.add(
    new PollingTransport(
      hub,
      {
        maxChannels,
        maxWait: limits.maxWait,
        maxResponseBytes,
        sendQueueBytes,
        clock,
        hold: (req, identity) => connections.acquire(req.socket, identity.user),
        compression,
        presence:
          limits.pollPresenceGrace > 0
            ? new PollerPresence(hub, security.cursors, logger, {
                grace: limits.pollPresenceGrace,
                maxSessions: limits.maxConnections,
                perIp: limits.connectionsPerIp,
                perUser: limits.connectionsPerUser,
                maxChannels,
                onEnded: announceEnded(hub, nodeId, logger),
              })
            : undefined,
      },
      security,
    ),
  );
  const doors: FrontDoor[] = factories.map((factory) =>
    factory.build({ hub, security, logger, clock, metrics, transports, readiness, connections, requests, limits, nodeId }),
  );
  followDisconnects(hub, transports, nodeId, logger);
  if (sampler !== undefined) nodes = new NodeDirectory(hub, nodeId, sampler.interval, clock, logger);
  const enabled = {
    websocket: options.transports?.websocket !== false,
    sse: options.transports?.sse !== false,
    polling: options.transports?.polling !== false,
  };
  const router = createRouter(
    routeTable({
      hub,
      security,
      logger,
      readiness,
      engineAvailable,
      metrics,
      connections,
      requests,
      transports,
      sse,
      polling,
      enabled,
      maxBodyBytes: limits.maxBodyBytes,
      maxBatchMessages: limits.maxBatchMessages,
      nodeId,
      acks,
      landingPage: options.landingPage,
      clientBundle: options.clientBundle,
      clientShareBundle: options.clientShareBundle,
      clientBundles: options.clientBundles,
      admin:
        sampler === undefined || nodes === undefined
          ? undefined
          : {
              hub,
              security,
              transports,
              sampler,
              nodes,
              self: () => summary(sampler.latest),
              nodeId,
              maxBodyBytes: limits.maxBodyBytes,
              maxBatchMessages: limits.maxBatchMessages,
              webhooks: dispatcher,
              acks,
            },
      adminPage: options.adminPage,
      doors,
    }),
    security,
  );
  const extra = options.routes;
  const maxHeaderBytes = standalone?.maxHeaderBytes;
  const wsUpgrade = upgradeHandler({ ws, enabled: enabled.websocket, readiness, security, connections, maxHeaderBytes, logger });
  /** An upgrade under the mount path: a door's own path goes to the door, the rest to Herald's WebSocket (`/ws`, else 404). */
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer, path: string | undefined): void => {
    if (path !== undefined && path !== '/ws') for (const door of doors) if (door.upgrade?.(req, socket, head, path) === true) return;
    wsUpgrade(req, socket, head, path === '/ws');
  };
  const ownsUpgrade = (path: string): boolean => path === '/ws' || doors.some((door) => door.ownsUpgrade?.(path) === true);

  /** Handles a request of the hub's from the checks on: 431, the connection's budget, extra routes, the router. */
  const serve = (req: IncomingMessage, res: ServerResponse, url: URL | undefined, path: string | undefined): void => {
    if (tooManyHeaders(req))
      return sendJsonText(res, 431, headTooLargeBody(maxHeaderBytes), { 'Access-Control-Allow-Origin': '*', Connection: 'close' });
    if (!admitRequest(req, res)) return;
    const cors = security.corsHeaders(req.headers.origin);
    if (url === undefined) return sendError(res, { code: ErrorCode.InvalidField, message: 'malformed request URL' }, cors);
    if (path === undefined)
      return sendError(res, { code: ErrorCode.NotFound, message: `no route for ${req.method ?? 'GET'} ${shownPath(req)}` }, cors);
    if (extra?.(req, res, innerUrl(url, path)) === true) return;
    router.route(req, res, url, path).catch((error: unknown) => {
      logger.error({ err: error }, 'request failed');
      if (!res.headersSent) sendError(res, { code: ErrorCode.Internal, message: 'internal error' });
      else res.destroy();
    });
  };

  /** Set by a mounted hub's close: from then on it takes no request and no upgrade. */
  let closing: Promise<void> | undefined;

  /**
   * The request's URL (for its query) and its path under `at`, matched on the path as sent (see
   * {@link requestPath}: `/x/../realtime/…` and `//host/realtime/…` are not under `/realtime`, as
   * for the app's router); undefined parts when malformed or not under it.
   */
  const locate = (req: IncomingMessage, at: string): { url?: URL; path?: string } => {
    const sent = requestPath(req.url);
    if (sent === undefined) return {};
    let url: URL;
    try {
      url = new URL(req.url ?? '/', URL_BASE);
    } catch {
      return {};
    }
    const path = pathUnder(sent, at);
    return path === undefined ? { url } : { url, path };
  };

  /** A mounted hub's claim: under `at`, or at the root one of its own paths (or an extra route's). */
  const claimRequest = (req: IncomingMessage, res: ServerResponse, at: string): boolean => {
    if (closing !== undefined) return false;
    const { url, path } = locate(req, at);
    if (path === undefined) return false;
    if (at === '' && !router.owns(path)) return extra?.(req, res, url!) === true;
    serve(req, res, url, path);
    return true;
  };

  const claimUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer, at: string): boolean => {
    if (closing !== undefined) return false;
    const { path } = locate(req, at);
    if (path === undefined || (at === '' && !ownsUpgrade(path))) return false;
    upgrade(req, socket, head, path);
    return true;
  };

  const detachers = new Set<() => void>();
  let hubClosing: Promise<void> | undefined;
  const closeHub = (): Promise<void> =>
    (hubClosing ??= (async () => {
      sampler?.close();
      // The other nodes drop this one from their lists at once (bounded: the engine may be down).
      await boundedWait(nodes?.close(), 1000);
      transports.close();
      for (const door of doors) await door.close?.();
      await hub.close();
      // Before the webhooks: the coalesced ack events still pending are sent to them.
      await acks?.close();
      // After the hub: the events of the connections just closed are stored first.
      await dispatcher?.close();
      await webhookQueue?.close();
      await broker.close();
      await presence.close();
      await security.tickets.close?.();
      await rateLimitStore.close?.();
      metrics?.close();
    })());
  const herald: Herald = {
    hub,
    security,
    path: mountPath,
    handleRequest: (req, res) => claimRequest(req, res, mountPath),
    handleUpgrade: (req, socket, head) => claimUpgrade(req, socket, head, mountPath),
    attach(server, attachOptions = {}) {
      if (closing !== undefined) throw new Error('cannot attach a closed Herald (close() was called): create another with createHerald');
      const at = attachOptions.path === undefined ? mountPath : normalizeMountPath(attachOptions.path, 'attach path');
      const off = attachListeners(
        server,
        (req, res) => claimRequest(req, res, at),
        (req, socket, head) => claimUpgrade(req, socket, head, at),
      );
      const detach = (): void => {
        if (detachers.delete(detach)) off();
      };
      detachers.add(detach);
      return detach;
    },
    publish: (channel, data, publishOptions) => hub.publish(channel, data, publishOptions),
    get ready() {
      return readiness.ready;
    },
    stats: () => transports.counts(),
    disconnect: (match) => transports.disconnect(match),
    dropConnections: () => transports.dropAll(),
    drain() {
      readiness.drain();
      transports.drain();
    },
    close() {
      closing ??= (async () => {
        herald.drain();
        for (const detach of [...detachers]) detach();
        // A peer that never answers the close frame must not keep its socket (ws would wait 30 s).
        const force = setTimeout(() => transports.dropAll(), 1000);
        force.unref();
        await closeHub();
        // Nothing left to cut: no timer outlives the close (a test's fake clock would count it).
        if (Object.values(transports.counts()).every((open) => open === 0)) clearTimeout(force);
      })();
      return closing;
    },
  };
  // Last: nothing above can throw once the workers run.
  dispatcher?.start();
  for (const door of doors) door.start?.();
  return {
    herald,
    readiness,
    serveAll(req, res) {
      const { url, path } = locate(req, mountPath);
      serve(req, res, url, path);
    },
    upgradeAll(req, socket, head) {
      upgrade(req, socket, head, locate(req, mountPath).path);
    },
    closeHub,
  };
}

/** `deltaNamespaces`, checked: namespace names (no `:`). */
function checkDeltaNamespaces(namespaces: readonly string[]): readonly string[] {
  for (const namespace of namespaces)
    if (typeof namespace !== 'string' || namespace.includes(':'))
      throw new RangeError('deltaNamespaces must be namespace names (without ":")');
  return namespaces;
}
