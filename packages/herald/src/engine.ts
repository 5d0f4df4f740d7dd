import {
  MemoryAckStore,
  MemoryBroker,
  MemoryPresenceStore,
  type Broker,
  type Clock,
  type HistoryPolicy,
  type Logger,
  type PresenceStore,
  type RateLimitStore,
  type TicketLimits,
  type AckStore,
  type TicketStore,
  type WebhookQueue,
} from '@herald/server';
import {
  checkRedisUrl,
  RedisBroker,
  RedisPresenceStore,
  RedisRateLimitStore,
  RedisAckStore,
  RedisTicketStore,
  RedisWebhookQueue,
  redactUrl,
} from '@herald/redis';
import { NatsAckStore, NatsBroker, NatsPresenceStore, NatsTicketStore, redactNatsUrl } from '@herald/nats';
import { createSqliteEngine } from '@herald/sqlite';
import type { HeraldConfig } from './config.js';

/** Which engine a configuration names. */
export type EngineSpec =
  | { readonly kind: 'memory' }
  | { readonly kind: 'redis'; readonly url: string }
  | { readonly kind: 'sqlite'; readonly path: string }
  | NatsEngineSpec;

/** `nats://host:port[,host:port…][?replicas=N&prefix=NAME]`, parsed. */
export interface NatsEngineSpec {
  readonly kind: 'nats';
  /** `nats://host:port[,host:port…]` without the options (with the credentials, if any: never log it, see {@link describeEngine}). */
  readonly url: string;
  /** Replicas of the stream and KV buckets the node creates. @default 1 */
  readonly replicas: number;
  /** Stream name and prefix of subjects and buckets. @default "HERALD" */
  readonly prefix: string;
}

/**
 * Reads `nats://[credentials@]host:port[,…][?replicas=N&prefix=NAME]`; credentials
 * (`user:password@` or `token@`) are everything up to the last `@` of an entry, so a password may
 * hold `/`, `?`, `#` or `@` (a `,` must be percent-encoded).
 */
function parseNats(text: string): NatsEngineSpec {
  // Never quoted with credentials.
  const shown = redactNatsUrl(text);
  const usage = 'use nats://host:port[,host:port…][?replicas=3]';
  const parts = text.slice('nats://'.length).split(',');
  // The options follow the last server's host:port (after its credentials).
  const lastPart = parts.at(-1)!;
  const hostStart = lastPart.lastIndexOf('@') + 1;
  const optionsAt = lastPart.slice(hostStart).search(/[/?#]/);
  let options = '';
  if (optionsAt >= 0) {
    const match = /^\/?(?:\?([^\s#]*))?$/.exec(lastPart.slice(hostStart + optionsAt));
    if (match === null) throw new RangeError(`bad NATS engine "${shown}": ${usage}`);
    options = match[1] ?? '';
    parts[parts.length - 1] = lastPart.slice(0, hostStart + optionsAt);
  }
  for (const part of parts) {
    const host = part.slice(part.lastIndexOf('@') + 1);
    if (!/^[^\s:,@/?#]+:\d{1,5}$/.test(host)) throw new RangeError(`bad NATS engine "${shown}": every server must be host:port`);
  }
  const servers = parts;
  let replicas = 1;
  let prefix = 'HERALD';
  for (const [key, value] of new URLSearchParams(options)) {
    if (key === 'replicas' && /^[1-5]$/.test(value)) replicas = Number(value);
    else if (key === 'prefix' && /^[A-Za-z0-9_-]{1,32}$/.test(value)) prefix = value;
    else {
      // An unknown option's value is not quoted: it may be a credential.
      const option = key === 'replicas' || key === 'prefix' ? `${key}=${value}` : key;
      throw new RangeError(`bad NATS engine option "${option}": use replicas=1…5 and prefix=<A–Z, a–z, 0–9, _, ->`);
    }
  }
  return { kind: 'nats', url: `nats://${servers.join(',')}`, replicas, prefix };
}

/** The engines `--engine` takes, for error messages and help. */
export const ENGINE_FORMS =
  'memory, redis://host:port, redis-cluster://host:port,…, redis-sentinel://host:port,…/<master-name>, nats://host:port[,host:port…] or sqlite:<file>';

/**
 * Reads `memory`, a Redis URL (`redis://…`/`rediss://…` one server, `redis-cluster://…` a Redis
 * Cluster, `redis-sentinel://…/<master-name>` a primary found through Sentinel: the same Redis
 * stores on each), `nats://host:port[,host:port…][?replicas=N&prefix=NAME]` (NATS JetStream) or
 * `sqlite:<file>`; throws a RangeError otherwise (also for a malformed Redis or NATS URL).
 */
export function parseEngine(text: string): EngineSpec {
  if (text === 'memory') return { kind: 'memory' };
  if (/^rediss?(-cluster|-sentinel)?:\/\//i.test(text)) {
    checkRedisUrl(text);
    return { kind: 'redis', url: text };
  }
  if (text.startsWith('nats://')) return parseNats(text);
  if (text.startsWith('sqlite:') && text.length > 'sqlite:'.length) return { kind: 'sqlite', path: text.slice('sqlite:'.length) };
  // Whatever stands before an `@` may be a password, even in a URL no parser reads; so may an
  // option's value (`?sentinelPassword=…`): the query is not quoted.
  const shown = redactNatsUrl(text).replace(/\?.*$/s, '?…');
  throw new RangeError(`unknown engine "${shown}": use ${ENGINE_FORMS}`);
}

/** The engine as it may appear in logs (no password). */
export function describeEngine(spec: EngineSpec): string {
  if (spec.kind === 'redis') return redactUrl(spec.url);
  if (spec.kind === 'nats') return `${redactNatsUrl(spec.url)}?replicas=${spec.replicas}&prefix=${spec.prefix}`;
  return spec.kind === 'sqlite' ? `sqlite:${spec.path}` : 'memory';
}

/** An opened engine: the hub's log, its presence store and, when nodes share it, the ticket store. */
export interface Engine {
  readonly broker: Broker;
  readonly presence: PresenceStore;
  /** The users' acknowledged positions (SQLite file, Redis, NATS); `undefined`: in the node's memory. */
  readonly ackStore?: AckStore;
  /** Shared tickets (Redis); `undefined` keeps them in the node's memory. */
  readonly tickets?: TicketStore;
  /** Shared per-user request rate buckets (Redis); `undefined` keeps them in the node's memory. */
  readonly rateLimits?: RateLimitStore;
  /** The webhook queue in the engine (SQLite file, Redis); `undefined`: in the node's memory (when webhooks are configured). */
  readonly webhookQueue?: WebhookQueue;
  /**
   * A queue of its own in the engine for a front door's webhooks (`PusherOptions.webhookQueue`: one
   * per Pusher app endpoint, named `pusher:{app id}:{index}`), distinct from Herald's: Redis keys
   * under `{prefix}{name}:`. `undefined` (memory, SQLite): the door's queues are in the node's memory.
   */
  readonly namedWebhookQueue?: (name: string) => WebhookQueue;
}

/**
 * A queue that connects on first use: every call waits for `open` (a failed open is tried again on
 * the next call; the dispatcher retries its stores and claims meanwhile). Closing closes what opened.
 */
export function lazyWebhookQueue(open: () => Promise<WebhookQueue>): WebhookQueue {
  let opening: Promise<WebhookQueue> | undefined;
  let closed = false;
  const queue = (): Promise<WebhookQueue> => {
    if (closed) return Promise.reject(new Error('the webhook queue is closed'));
    opening ??= open().catch((error: unknown) => {
      opening = undefined;
      throw error;
    });
    return opening;
  };
  return {
    add: async (events, deliveries) => (await queue()).add(events, deliveries),
    claim: async (node, max, leaseMs, now, maxBytes) => (await queue()).claim(node, max, leaseMs, now, maxBytes),
    ack: async (ids, lease) => (await queue()).ack(ids, lease),
    retry: async (id, attempts, nextAt, lastError, lease) => (await queue()).retry(id, attempts, nextAt, lastError, lease),
    bury: async (id, attempts, lastError, now, lease) => (await queue()).bury(id, attempts, lastError, now, lease),
    release: async (ids, lease) => (await queue()).release(ids, lease),
    trimDead: async (max) => (await queue()).trimDead(max),
    deleteDead: async (ids) => (await queue()).deleteDead(ids),
    dead: async (limit, after) => (await queue()).dead(limit, after),
    replay: async (ids) => (await queue()).replay(ids),
    counts: async () => (await queue()).counts(),
    close: async () => {
      closed = true;
      const opened = await opening?.catch(() => undefined);
      await opened?.close();
    },
  };
}

/** The ticket limits configured in `limits` (unset ones keep their defaults). */
export function ticketLimits(limits: Pick<HeraldConfig['limits'], 'ticketsPerUser' | 'ticketsPerSecond' | 'ticketBurst'>): TicketLimits {
  const { ticketsPerUser, ticketsPerSecond, ticketBurst } = limits;
  return {
    ...(ticketsPerUser !== undefined && { perHolder: ticketsPerUser }),
    ...(ticketsPerSecond !== undefined && { perSecond: ticketsPerSecond }),
    ...(ticketBurst !== undefined && { burst: ticketBurst }),
  };
}

/** Opens the configured engine (connects to Redis, opens the SQLite file). */
export async function openEngine(
  config: HeraldConfig,
  historyFor: (channel: string) => HistoryPolicy,
  logger: Logger,
  clock?: Clock,
): Promise<Engine> {
  const spec = parseEngine(config.engine);
  const ackLimits = { ttl: config.acks.ttl, maxPerChannel: config.acks.maxPerChannel };
  const retention = { historySize: config.historySize, historyTtl: config.historyTtl, historyFor, ...(clock && { clock }) };
  switch (spec.kind) {
    case 'memory':
      return { broker: new MemoryBroker(retention), presence: new MemoryPresenceStore(), ackStore: new MemoryAckStore(ackLimits) };
    case 'redis': {
      const { prefix, memberTtl, commandTimeout, connectTimeout } = config.redis;
      const common = { url: spec.url, prefix, commandTimeout, connectTimeout, logger, ...(clock && { clock }) };
      const opened: { close(): Promise<void> }[] = [];
      try {
        const broker = await RedisBroker.connect({ ...retention, ...common });
        opened.push(broker);
        const presence = await RedisPresenceStore.connect({ ...common, memberTtl });
        opened.push(presence);
        const tickets = await RedisTicketStore.connect({
          ...common,
          ...(config.limits.ticketTtl !== undefined && { ttl: config.limits.ticketTtl }),
          limits: ticketLimits(config.limits),
        });
        opened.push(tickets);
        const rateLimits = await RedisRateLimitStore.connect({ ...common });
        opened.push(rateLimits);
        const ackStore = await RedisAckStore.connect({ ...common, ...ackLimits });
        opened.push(ackStore);
        // Only when webhooks are configured: a hub without them opens no connection for them.
        const webhookQueue = config.webhooks === undefined ? undefined : await RedisWebhookQueue.connect({ ...common });
        // A door's queue connects when its dispatcher first uses it (none without door webhooks).
        const namedWebhookQueue = (name: string): WebhookQueue =>
          lazyWebhookQueue(() => RedisWebhookQueue.connect({ ...common, prefix: `${prefix}${name}:` }));
        return { broker, presence, tickets, rateLimits, ackStore, namedWebhookQueue, ...(webhookQueue && { webhookQueue }) };
      } catch (error) {
        await Promise.allSettled(opened.map((o) => o.close()));
        throw error;
      }
    }
    case 'nats': {
      // Rate limits and webhook queues stay in each node's memory on NATS (docs/operations.md).
      const { memberTtl, commandTimeout, connectTimeout } = config.redis;
      const common = {
        url: spec.url,
        prefix: spec.prefix,
        replicas: spec.replicas,
        commandTimeout,
        connectTimeout,
        ...(clock && { clock }),
      };
      const opened: { close(): Promise<void> }[] = [];
      try {
        // The key bucket keeps entries past the longest key lifetime the hub uses.
        const idempotencyRetention = Math.max(86_400, config.idempotencyTtl + 60);
        const broker = await NatsBroker.connect({ ...retention, ...common, idempotencyRetention, logger });
        opened.push(broker);
        const presence = await NatsPresenceStore.connect({ ...common, memberTtl });
        opened.push(presence);
        const tickets = await NatsTicketStore.connect({
          ...common,
          ...(config.limits.ticketTtl !== undefined && { ttl: config.limits.ticketTtl }),
          limits: ticketLimits(config.limits),
        });
        opened.push(tickets);
        const ackStore = await NatsAckStore.connect({ ...common, ...ackLimits });
        return { broker, presence, tickets, ackStore };
      } catch (error) {
        await Promise.allSettled(opened.map((o) => o.close()));
        throw error;
      }
    }
    case 'sqlite':
      return createSqliteEngine({ ...retention, path: spec.path, logger, acks: ackLimits });
  }
}
