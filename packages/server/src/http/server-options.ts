import { DEFAULT_POLL_PRESENCE_GRACE } from '../transport/poller-presence.js';
import type { AckStore, AckStoreLimits } from '../engine/ack-store.js';
import type { MercureOptions } from '../mercure/mercure-options.js';
import type { PusherOptions } from '../pusher/pusher-options.js';
import { timerMs, timerSeconds } from '../timer-delay.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_MAX_BATCH_MESSAGES, MAX_CURSOR_CHANNELS } from '@herald/protocol';
import type { SecurityOptions } from '../auth/security.js';
import type { HooksOptions } from '../hooks/hooks-options.js';
import type { WebhookSink } from '../webhooks/webhook-sink.js';
import type { WebhookQueue } from '../webhooks/webhook-queue.js';
import type { WebhooksOptions } from '../webhooks/webhooks-options.js';
import type { Clock } from '../clock.js';
import type { Broker, PresenceStore } from '../engine/broker.js';
import type { HistoryOptions } from '../engine/history-policy.js';
import type { Logger } from '../logger.js';
import { DEFAULT_SEND_QUEUE_BYTES } from '../transport/outbox.js';
import { DEFAULT_MAX_RESPONSE_BYTES } from '../transport/read-cap.js';
import type { CompressionOptions } from '../transport/compression-options.js';
import { defaultMaxConnections } from './connection-capacity.js';
import type { RateLimitStore } from './rate-limit-store.js';
import { requestHeadBytes } from './request-head.js';
import type { RequestLimits } from './request-limits.js';

/**
 * Options of `createHerald` (a hub mounted on a server of the app's) and of `createHeraldServer`.
 * Sizes in bytes, durations in milliseconds unless noted.
 */
/** The browser bundles of `@herald/client` other than the SDK and its share code (see `HeraldOptions.clientBundles`). */
export interface ClientBundles {
  /** `herald-compact.js`: the `herald.compact` frame format. */
  readonly compact?: string | undefined;
  /** `herald-msgpack.js`: the `herald.msgpack` frame format. */
  readonly msgpack?: string | undefined;
  /** `herald-outbox.js`: the offline outbox (IndexedDB store included). */
  readonly outbox?: string | undefined;
}

export interface HeraldOptions extends HistoryOptions {
  /**
   * Path prefix the hub answers under: `'/realtime'` serves `/realtime/events`, `/realtime/ws`, …
   * A leading `/` is required, a trailing `/` is dropped; a bad one throws a `TypeError`. At the
   * root (`''` or `'/'`), a mounted hub (`handleRequest`, `attach`) answers only its own paths and
   * leaves every other to the app. `attach(server, { path })` may name another path for one server.
   * @default '' (the root)
   */
  readonly path?: string | undefined;
  /** The engine. @default a new `MemoryBroker` with the history options (and per-namespace retention) */
  readonly broker?: Broker | undefined;
  /** @default a new `MemoryPresenceStore` */
  readonly presence?: PresenceStore | undefined;
  /**
   * Where the users' acknowledged positions are kept (the `ack` command, `POST /api/ack`); the
   * engine's (`RedisAckStore`, `NatsAckStore`, `createSqliteEngine`'s) so every node sees them. The
   * hub closes it on close. @default a new `MemoryAckStore` with `acks`' limits
   */
  readonly ackStore?: AckStore | undefined;
  /**
   * Client acknowledgements: the default store's limits (`ttl` seconds, `maxPerChannel` users), and
   * `webhookInterval`, the ms between two `client_ack` webhook events of one user and channel.
   * `false`: the `ack` command and `POST /api/ack` are refused (1002, 404). @default on, ttl 604800, maxPerChannel 10000, webhookInterval 1000
   */
  readonly acks?: (AckStoreLimits & { readonly webhookInterval?: number | undefined }) | false | undefined;
  /** @default a silent logger */
  readonly logger?: Logger | undefined;
  /** @default the system clock */
  readonly clock?: Clock | undefined;
  /** Authentication, permissions, API keys, origins. @default open: anyone may do anything */
  readonly security?: SecurityOptions | undefined;
  /** The Pusher Channels protocol on the same channel logs: `/app/{key}` and `/apps/{id}/…` (see `docs/pusher.md`). @default off */
  readonly pusher?: PusherOptions | undefined;
  /** Mercure on the same channel logs: `/.well-known/mercure` (see `docs/mercure.md`). @default off */
  readonly mercure?: MercureOptions | undefined;
  /** The app's proxy hooks: it decides connects, subscribes, client publishes, refreshes and answers rpc (see `docs/hooks.md`). @default none */
  readonly hooks?: HooksOptions | undefined;
  /**
   * Receives the webhook events (presence, channels, client publishes, closed connections) in this
   * process, in place of the durable queue the `webhooks` setting builds: an embedder's own sink
   * (see `WebhookSink` and `docs/hooks.md`). @default none
   */
  readonly webhookSink?: WebhookSink | undefined;
  /**
   * Milliseconds a user's last leave of a channel, and a channel's vacate, wait before their webhook
   * events are sent; a return within it (on any node) sends neither the leave nor a new join. 0: at
   * once. @default `webhooks.presenceDebounce`, else 5000
   */
  readonly presenceDebounce?: number | undefined;
  /**
   * Webhooks: events (channels occupied and vacated, presence, client publishes, closed
   * connections) POSTed to the app in signed batches, at least once, from `webhookQueue` (see
   * `docs/hooks.md`). @default none
   */
  readonly webhooks?: WebhooksOptions | undefined;
  /**
   * Where webhook events wait for delivery; the engine's (`createSqliteEngine`'s, `RedisWebhookQueue`)
   * so a restart loses none and every node shares it. The hub closes it on close.
   * @default a `MemoryWebhookQueue` when `webhooks` is set (a restart loses what it holds)
   */
  readonly webhookQueue?: WebhookQueue | undefined;
  /** Largest `POST /api/publish` body. @default 1048576 (1 MiB) */
  readonly maxBodyBytes?: number | undefined;
  /** Most messages in one `POST /api/publish` batch (`{"messages": […]}`); past it `400`, code 1009. @default 100 */
  readonly maxBatchMessages?: number | undefined;
  /** Largest WebSocket frame from a client. @default 65536 (64 KiB) */
  readonly maxMessageBytes?: number | undefined;
  /** Channels per WebSocket session, SSE stream or polling request; at most 128 (a cursor's channels). @default 128 */
  readonly maxChannels?: number | undefined;
  /**
   * Bytes a session may have waiting before it is dropped as a slow consumer; also the bytes of
   * answers one HTTP connection may have waiting (pipelined requests) before it is cut. @default 1048576
   */
  readonly sendQueueBytes?: number | undefined;
  /**
   * Bytes of message JSON in one answer to a read (`GET /api/messages`, `GET /api/history`, the
   * WebSocket `history` reply): fewer messages and `more: true` past it, but always at least one.
   * @default 1048576
   */
  readonly maxResponseBytes?: number | undefined;
  /** WebSocket commands per second per session, on average (sessions authenticated with the API key are not limited). @default 100 */
  readonly commandsPerSecond?: number | undefined;
  /** WebSocket commands a session may send at once. @default 200 */
  readonly commandBurst?: number | undefined;
  /**
   * Rate limits of HTTP publish, poll, history and ticket requests, per client IP address (on each
   * node) and per user (in `rateLimitStore`); past one the request is answered `429`, code 3002,
   * with `Retry-After`. Requests with a valid API key are not limited.
   * Example: `{ publish: { perIp: { perSecond: 100, burst: 200 }, perUser: { perSecond: 50, burst: 100 } } }`.
   * @default none (`herald start`'s production profile sets some)
   */
  readonly requestLimits?: RequestLimits | undefined;
  /**
   * Where the per-user request buckets are kept; the hub closes it on close. Nodes that should
   * share the per-user limits share a store (`RedisRateLimitStore` of `@herald/redis`).
   * @default a `MemoryRateLimitStore` (this node only)
   */
  readonly rateLimitStore?: RateLimitStore | undefined;
  /** Open WebSocket sessions, SSE streams and held long polls per client IP. @default Infinity */
  readonly connectionsPerIp?: number | undefined;
  /** Open WebSocket sessions, SSE streams and held long polls per user. @default Infinity */
  readonly connectionsPerUser?: number | undefined;
  /**
   * Open WebSocket sessions, SSE streams and held long polls on the whole hub; past it they are
   * refused with 503, so the descriptors left serve health checks, publishes and short requests.
   * @default the process's open-file limit (Linux `/proc/self/limits`) minus 10 % (at least 64); Infinity where unknown
   */
  readonly maxConnections?: number | undefined;
  /**
   * Compression on the wire: WebSocket permessage-deflate when the client offers it, gzip on SSE
   * streams and gzip or br on polling answers when `Accept-Encoding` allows it, each only for
   * frames, events and answers of at least `threshold` bytes. `false` turns it all off; clients
   * that ask for no compression get the same bytes either way. See docs/operations.md.
   * @default on: `{ websocket: true, http: true, threshold: 256, level: 6 }`
   */
  readonly compression?: boolean | CompressionOptions | undefined;
  /** WebSocket ping interval; a session that missed the previous pong is dropped. @default 25000 */
  readonly pingInterval?: number | undefined;
  /** SSE heartbeat interval. @default 15000 */
  readonly heartbeatInterval?: number | undefined;
  /** SSE `retry:` hint. @default 2000 */
  readonly sseRetry?: number | undefined;
  /** Longest long-poll `wait`, in seconds. @default 60 */
  readonly maxWait?: number | undefined;
  /**
   * Seconds a polling client (a poll with `session`) stays a presence member of a channel after its
   * last answer there without polling it again (while a poll is held it stays); `0`: polling clients
   * are never members (`session` is ignored). @default 30
   */
  readonly pollPresenceGrace?: number | undefined;
  /** Transports to serve; a disabled one answers 404 (the WebSocket upgrade is refused). @default all enabled */
  readonly transports?: { readonly websocket?: boolean; readonly sse?: boolean; readonly polling?: boolean } | undefined;
  /**
   * HTML served at `GET /` under the mount path (`/realtime/`; `/realtime` itself redirects there,
   * so the page's relative URLs resolve under the mount path); `undefined` answers 404 there.
   */
  readonly landingPage?: string | undefined;
  /**
   * JavaScript served at `GET /sdk/herald-client.js` under the mount path (the browser bundle of
   * `@herald/client`, see `herald`'s `loadClientBundle`); `undefined` answers 404 there.
   */
  readonly clientBundle?: string | undefined;
  /**
   * JavaScript served at `GET /sdk/herald-share.js` beside it: the code of the client's
   * `share: true`, which the bundle imports only when a client asks for it.
   */
  readonly clientShareBundle?: string | undefined;
  /**
   * The other browser bundles of `@herald/client`, each served beside `clientBundle` in the same
   * way: `compact` at `GET /sdk/herald-compact.js` and `msgpack` at `GET /sdk/herald-msgpack.js`
   * (the frame formats, passed as `format`), `outbox` at `GET /sdk/herald-outbox.js` (the offline
   * outbox, which imports `./herald-client.js`). `herald`'s `loadClientBundles()` reads them all;
   * one left out answers 404. @default none
   */
  readonly clientBundles?: ClientBundles | undefined;
  /** How often (ms) the hub checks quiet channels for messages the engine's live path dropped; 0 = never. @default 5000 */
  readonly positionCheckInterval?: number | undefined;
  /** Seconds a publish's idempotency key is remembered per channel. @default 300 */
  readonly idempotencyTtl?: number | undefined;
  /**
   * Namespaces whose channels send deltas (`''`: channels without a namespace): a client that asks
   * for them (WebSocket `subscribe` with `delta: true`, SSE and polling `delta=1`) gets each message
   * after the first as a Fossil delta against the previous one it received, when that is shorter
   * (docs/protocol.md, "Deltas"). Worth it for channels of large, slowly changing state. @default none
   */
  readonly deltaNamespaces?: readonly string[] | undefined;
  /**
   * Serve Prometheus metrics at `GET /metrics` (only with the API key when API keys are configured).
   * @default true
   */
  readonly metrics?: boolean | undefined;
  /**
   * Serve the admin API under `/api/admin/` (nodes, channels, connections with disconnect,
   * presence, series, publish; see docs/protocol.md) and, with `adminPage`, the console at
   * `/admin`. Every request needs the API key or an admin token (`"herald": {"admin": true}`);
   * only on an open hub (no API key, no token verification, permissions that allow everything:
   * `Security.open`) anyone; a hub with neither credential but restrictive permissions refuses
   * every admin request. Off by default in the library, so a hub mounted in an app claims no
   * `/admin` or `/api/admin/` paths unasked; `herald start` turns it on.
   * @default false
   */
  readonly admin?: boolean | undefined;
  /**
   * HTML of the operations console served at `GET /admin` under the mount path (see `herald`'s
   * `loadAdminPage`), when `admin` is true; otherwise `/admin` answers 404.
   */
  readonly adminPage?: string | undefined;
  /**
   * Milliseconds between the admin API's samples: its series of messages/s and connections (the
   * last 10 minutes), channel rates, and each node's summary to the cluster. 10 to 60000.
   * @default 2000
   */
  readonly adminSampleInterval?: number | undefined;
  /**
   * Extra routes tried before the built-in ones (after the mount path matched); return true when
   * handled. `url.pathname` is the path under the mount path.
   */
  readonly routes?: ((req: IncomingMessage, res: ServerResponse, url: URL) => boolean) | undefined;
}

/** Options of `createHeraldServer`: those of {@link HeraldOptions} and of the server it creates. */
export interface HeraldServerOptions extends HeraldOptions {
  /**
   * Largest request head (request line and headers); a bigger one gets `431` with code 1006. The
   * default fits the largest valid SSE or polling request for `maxChannels` channels (see
   * {@link requestHeadBytes}); it is also what one unauthenticated connection can make the hub buffer.
   * @default requestHeadBytes(maxChannels): 262912 for 128 channels
   */
  readonly maxHeaderBytes?: number | undefined;
  /** Time allowed to receive a request's headers (slowloris). @default 10000 */
  readonly headersTimeout?: number | undefined;
}

/** The numeric options of {@link HeraldServerOptions}, checked, with their defaults filled in. */
export interface ServerLimits {
  readonly maxBodyBytes: number;
  readonly maxBatchMessages: number;
  readonly maxChannels: number;
  readonly maxHeaderBytes: number;
  readonly sendQueueBytes: number;
  readonly maxResponseBytes: number;
  readonly connectionsPerIp: number;
  readonly connectionsPerUser: number;
  readonly maxConnections: number;
  readonly maxMessageBytes: number;
  readonly pingInterval: number;
  readonly commandsPerSecond: number;
  readonly commandBurst: number;
  readonly heartbeatInterval: number;
  readonly sseRetry: number;
  readonly maxWait: number;
  readonly pollPresenceGrace: number;
  readonly headersTimeout: number;
}

/** `value`, or `fallback` when it is undefined; anything but a finite number > 0 (an integer unless `integer` is false) throws. */
function limit(name: string, value: number | undefined, fallback: number, integer = true): number {
  if (value === undefined) return fallback;
  if (value === Infinity && fallback === Infinity) return value;
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new RangeError(`${name} must be ${integer ? 'an integer' : 'a number'} > 0`);
  }
  return value;
}

/**
 * Checks the numeric options and fills in their defaults; a bad one throws a `RangeError` naming it.
 * Runs before anything is built, so a bad option starts no engine and no timer.
 */
export function resolveLimits(options: HeraldServerOptions): ServerLimits {
  const maxBodyBytes = limit('maxBodyBytes', options.maxBodyBytes, 1024 * 1024);
  const maxChannels = limit('maxChannels', options.maxChannels, MAX_CURSOR_CHANNELS);
  // An SSE stream's cursor covers all its channels; past this a reconnect could not resume.
  if (maxChannels > MAX_CURSOR_CHANNELS)
    throw new RangeError(`maxChannels must be at most ${MAX_CURSOR_CHANNELS} (the channels a cursor holds)`);
  return {
    maxBodyBytes,
    maxBatchMessages: limit('maxBatchMessages', options.maxBatchMessages, DEFAULT_MAX_BATCH_MESSAGES),
    maxChannels,
    maxHeaderBytes: limit('maxHeaderBytes', options.maxHeaderBytes, requestHeadBytes(maxChannels)),
    sendQueueBytes: limit('sendQueueBytes', options.sendQueueBytes, DEFAULT_SEND_QUEUE_BYTES),
    maxResponseBytes: limit('maxResponseBytes', options.maxResponseBytes, DEFAULT_MAX_RESPONSE_BYTES),
    connectionsPerIp: limit('connectionsPerIp', options.connectionsPerIp, Infinity),
    connectionsPerUser: limit('connectionsPerUser', options.connectionsPerUser, Infinity),
    maxConnections:
      options.maxConnections === Infinity ? Infinity : limit('maxConnections', options.maxConnections, defaultMaxConnections()),
    maxMessageBytes: limit('maxMessageBytes', options.maxMessageBytes, 64 * 1024),
    pingInterval: timerMs('pingInterval', options.pingInterval, 25_000),
    commandsPerSecond: limit('commandsPerSecond', options.commandsPerSecond, 100, false),
    commandBurst: limit('commandBurst', options.commandBurst, 200),
    heartbeatInterval: timerMs('heartbeatInterval', options.heartbeatInterval, 15_000),
    // A browser's reconnect timer: past 2³¹ − 1 ms it fires at once, as Node's would.
    sseRetry: timerMs('sseRetry', options.sseRetry, 2000),
    maxWait: timerSeconds('maxWait', options.maxWait, 60),
    pollPresenceGrace:
      options.pollPresenceGrace === 0 ? 0 : timerSeconds('pollPresenceGrace', options.pollPresenceGrace, DEFAULT_POLL_PRESENCE_GRACE, 1),
    // Node refuses a headersTimeout above the requestTimeout.
    headersTimeout: timerMs('headersTimeout', options.headersTimeout, 10_000, 1, 30_000),
  };
}
