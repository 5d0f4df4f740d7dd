import { createClient } from '@redis/client';
import { timerMs, type Logger } from '@herald/server';

/** A node-redis client as Herald creates it. */
export type RedisClient = ReturnType<typeof createHeraldClient>;

/** How Herald connects to Redis. */
export interface ConnectionOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS. */
  readonly url: string;
  /** A command that gets no reply within this many ms fails (the hub answers 503). @default 5000 */
  readonly commandTimeout?: number;
  /** How long the first connection may take before the engine gives up. @default 10000 */
  readonly connectTimeout?: number;
  readonly logger: Logger;
}

/** The URL with any password hidden, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable Redis URL)';
  }
}

/** Checks a Redis URL: a clear error for a typo, before any connection attempt. */
export function checkRedisUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`not a Redis URL: "${url}" (expected redis://host:port)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new RangeError(`a Redis URL starts with redis:// or rediss://, got "${redactUrl(url)}"`);
  }
}

/**
 * Connects one client. While Redis is unreachable, commands fail at once (no offline queue: a
 * publish is never held and acknowledged later) and the client reconnects by itself, with backoff
 * capped at 2 s. Resolves once connected; rejects when the first connection does not succeed within
 * `connectTimeout`.
 */
export async function connect(options: ConnectionOptions, role: string): Promise<RedisClient> {
  const commandTimeout = timerMs('commandTimeout', options.commandTimeout, 5000);
  const connectTimeout = timerMs('connectTimeout', options.connectTimeout, 10_000);
  checkRedisUrl(options.url);
  const where = redactUrl(options.url);
  const client = createHeraldClient(options.url, role, commandTimeout, connectTimeout);
  // node-redis emits an error per failed attempt while reconnecting: log the first of each outage.
  let down = false;
  client.on('error', (error: unknown) => {
    if (down) return;
    down = true;
    options.logger.warn({ err: error, redis: where, role }, 'redis unreachable; reconnecting');
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    options.logger.info({ redis: where, role }, 'redis connection restored');
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`cannot connect to Redis at ${where} within ${connectTimeout} ms`)), connectTimeout);
  });
  try {
    await Promise.race([client.connect(), timeout]);
  } catch (error) {
    client.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return client;
}

function createHeraldClient(url: string, role: string, commandTimeout: number, connectTimeout: number) {
  return createClient({
    url,
    name: `herald-${role}`,
    disableOfflineQueue: true,
    commandOptions: { timeout: commandTimeout },
    socket: {
      connectTimeout: Math.min(connectTimeout, 5000),
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 6), 2000) + Math.floor(Math.random() * 100),
    },
  });
}

/**
 * `reply`, or a rejection once the client's command timeout has passed without one. node-redis
 * applies that timeout only while a command waits to be written: a command already sent to a Redis
 * that stopped answering (frozen, or behind a network black hole) would wait as long as the
 * connection lives. The command still runs if Redis answers later; only the caller stops waiting.
 */
export function replyWithin<T>(client: RedisClient, reply: Promise<T>): Promise<T> {
  const ms = client.options?.commandOptions?.timeout;
  if (ms === undefined) return reply;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([reply, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Closes a client: politely when connected (waiting for the replies still due, at most the command
 * timeout: a frozen Redis never sends them), at once otherwise.
 */
export async function disconnect(client: RedisClient): Promise<void> {
  if (!client.isOpen) return;
  if (client.isReady) {
    try {
      await replyWithin(client, client.close());
      return;
    } catch {
      // Fall through: the connection went away meanwhile, or Redis does not answer.
    }
  }
  if (client.isOpen) client.destroy();
}
