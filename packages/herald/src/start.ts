import {
  createHeraldServer,
  DENY_ALL,
  JwtAuthenticator,
  Permissions,
  type HeraldServer,
  type HeraldServerOptions,
  type Logger,
  type RequestKind,
  type RequestKindLimits,
  type RequestLimits,
} from '@herald/server';
import { createDemoHost, type DemoHost } from '@herald/demo';
import type { HeraldConfig, Profile } from './config.js';
import { openEngine, ticketLimits, type Engine } from './engine.js';
import { loadAdminPage } from './admin-page.js';
import { loadClientBundle, loadClientBundles, loadLandingPage } from './landing-page.js';

/** A started hub: the server plus the URL it answers on. */
export interface RunningHub {
  readonly server: HeraldServer;
  readonly url: string;
  readonly port: number;
  /** The demo apps under `/demo/` (dev profile only), their simulators running: stop them before closing the server. */
  readonly demos: DemoHost | undefined;
}

/** Connection limits of the production profile unless configured. */
export const PRODUCTION_DEFAULTS = { connectionsPerIp: 1000, connectionsPerUser: 100 } as const;

/**
 * HTTP request rate limits per profile unless configured (`limits.requests`): the production
 * profile limits publish, poll, history and ticket requests per IP address (each node) and per
 * user (every node on Redis); the dev profile limits nothing.
 */
export const REQUEST_LIMIT_DEFAULTS: Record<Profile, RequestLimits> = {
  production: {
    publish: { perIp: { perSecond: 100, burst: 200 }, perUser: { perSecond: 50, burst: 100 } },
    poll: { perIp: { perSecond: 100, burst: 200 }, perUser: { perSecond: 50, burst: 100 } },
    history: { perIp: { perSecond: 50, burst: 100 }, perUser: { perSecond: 20, burst: 50 } },
    ticket: { perIp: { perSecond: 20, burst: 40 }, perUser: { perSecond: 10, burst: 20 } },
  },
  dev: {},
};

/** The profile's {@link REQUEST_LIMIT_DEFAULTS} with each configured limit in its place (`null`: none). */
export function requestLimitsFor(profile: Profile, configured: HeraldConfig['limits']['requests']): RequestLimits {
  const defaults = REQUEST_LIMIT_DEFAULTS[profile];
  const kind = (name: RequestKind): RequestKindLimits => {
    const own = configured?.[name];
    return {
      perIp: own?.perIp !== undefined ? own.perIp : (defaults[name]?.perIp ?? null),
      perUser: own?.perUser !== undefined ? own.perUser : (defaults[name]?.perUser ?? null),
    };
  };
  return { publish: kind('publish'), poll: kind('poll'), history: kind('history'), ticket: kind('ticket') };
}

/**
 * Starts a hub. The `dev` profile is open (anyone may publish and subscribe, any origin) and serves
 * the landing page at `/`; the `production` profile verifies tokens (or has the app's connect hook
 * identify clients), denies every namespace not
 * configured, allows only the configured origins, and serves no landing page. Both serve the
 * client SDK's browser bundle at `/sdk/herald-client.js` and the operations console at `/admin`. The dev profile also serves and runs the
 * demos under `/demo/` unless `options.demos` is false (`herald bench` measures a hub without them).
 */
export async function startHub(
  config: HeraldConfig,
  profile: Profile,
  logger: Logger,
  options: { readonly demos?: boolean } = {},
): Promise<RunningHub> {
  const bundle = loadClientBundle();
  if (bundle === undefined) logger.warn({}, 'the client SDK bundle is not built: /sdk/herald-client.js answers 404 (run npm run build)');
  const permissions = profile === 'production' ? new Permissions(config.namespaces, DENY_ALL) : Permissions.open();
  // Everything that can refuse the configuration comes before the engine opens its connections.
  // Without a token key the production profile has a connect hook (loadConfig checks): the app identifies clients.
  const authenticator = profile === 'production' && config.auth !== undefined ? new JwtAuthenticator(config.auth) : undefined;
  const engine = await openEngine(config, permissions.historyFor({ size: config.historySize, ttl: config.historyTtl }), logger);
  let server: HeraldServer | undefined;
  // The demos publish to this very hub, which exists only once the server is made.
  const demos =
    profile === 'dev' && options.demos !== false
      ? createDemoHost({
          publisher: { publish: (channel, data, options) => server!.herald.publish(channel, data, options) },
          onError: (error) => logger.warn({ err: error }, 'a demo backend request failed'),
        })
      : undefined;
  try {
    const built = serverOptions(config, profile, logger, permissions, authenticator, engine, bundle, demos !== undefined);
    server = createHeraldServer({
      ...built,
      // The Pusher apps' webhooks get durable queues of their own in the engine (Redis), apart from Herald's.
      ...(built.pusher !== undefined &&
        engine.namedWebhookQueue !== undefined && { pusher: { ...built.pusher, webhookQueue: engine.namedWebhookQueue } }),
      ...(demos !== undefined && { routes: (req, res, url) => demos.handle(req, res, url) }),
    });
  } catch (error) {
    await Promise.allSettled([
      engine.broker.close(),
      engine.presence.close(),
      engine.tickets?.close?.(),
      engine.rateLimits?.close?.(),
      engine.webhookQueue?.close(),
      engine.ackStore?.close?.(),
    ]);
    throw error;
  }
  let port: number;
  try {
    port = await server.listen(config.port, config.host);
  } catch (error) {
    await server.close();
    throw error;
  }
  demos?.start();
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return { server, port, url: `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`, demos };
}

function serverOptions(
  config: HeraldConfig,
  profile: Profile,
  logger: Logger,
  permissions: Permissions,
  authenticator: JwtAuthenticator | undefined,
  engine: Engine,
  bundle: string | undefined,
  demos: boolean,
): HeraldServerOptions {
  const { authTimeout, ticketTtl, ticketsPerUser, ticketsPerSecond, ticketBurst, requests, ...limits } = config.limits;
  const tickets = ticketLimits({ ticketsPerUser, ticketsPerSecond, ticketBurst });
  return {
    historySize: config.historySize,
    historyTtl: config.historyTtl,
    deltaNamespaces: Object.entries(config.namespaces)
      .filter(([, rules]) => rules.delta === true)
      .map(([name]) => name),
    idempotencyTtl: config.idempotencyTtl,
    pollPresenceGrace: config.pollPresenceGrace,
    logger,
    broker: engine.broker,
    presence: engine.presence,
    ...limits,
    compression: config.compression,
    requestLimits: requestLimitsFor(profile, requests),
    ...(engine.rateLimits && { rateLimitStore: engine.rateLimits }),
    ...(engine.webhookQueue && { webhookQueue: engine.webhookQueue }),
    ...(engine.ackStore && { ackStore: engine.ackStore }),
    ...(config.acks.webhookInterval !== undefined && { acks: { webhookInterval: config.acks.webhookInterval } }),
    ...(config.webhooks !== undefined && { webhooks: config.webhooks }),
    ...(profile === 'production'
      ? {
          connectionsPerIp: limits.connectionsPerIp ?? PRODUCTION_DEFAULTS.connectionsPerIp,
          connectionsPerUser: limits.connectionsPerUser ?? PRODUCTION_DEFAULTS.connectionsPerUser,
          security: {
            ...(authenticator && { authenticator }),
            permissions,
            apiKeys: config.apiKeys ?? [],
            ...(config.cursorSecrets !== undefined && { cursorSecrets: config.cursorSecrets }),
            allowedOrigins: config.allowedOrigins ?? [],
            ...(config.auth !== undefined && { cookieName: config.auth.cookie }),
            requireAuth: !config.allowAnonymous,
            ...(authTimeout !== undefined && { authTimeout }),
            ...(ticketTtl !== undefined && { ticketTtl }),
            ticketLimits: tickets,
            ...(engine.tickets && { tickets: engine.tickets }),
          },
        }
      : {
          landingPage: loadLandingPage({ demos }),
          security: { ticketLimits: tickets, ...(engine.tickets && { tickets: engine.tickets }) },
        }),
    ...(config.hooks !== undefined && { hooks: config.hooks }),
    // The doors guard themselves (app signatures, Mercure JWTs) in either profile.
    ...(config.pusher !== undefined && { pusher: config.pusher }),
    ...(config.mercure !== undefined && { mercure: config.mercure }),
    ...(bundle !== undefined && { clientBundle: bundle }),
    // The code of the client's `share: true`, imported by the bundle from beside it when asked.
    clientShareBundle: loadClientBundle('herald-share.js'),
    // The frame formats and the outbox, for pages that import them from the hub too.
    clientBundles: loadClientBundles(),
    // The admin API and the console at /admin in both profiles (the library leaves them off unless
    // asked): behind the API key or an admin token in production, open only on the open dev hub.
    admin: true,
    adminPage: loadAdminPage(),
  };
}
