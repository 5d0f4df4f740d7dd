import { connect as natsConnect, type NatsConnection } from '@nats-io/transport-node';

/** Options shared by the NATS stores. */
export interface NatsConnectionOptions {
  /** `nats://host:port[,host:port…]` (several servers of one cluster), or a list of them. */
  readonly url: string | readonly string[];
  /** How long the first connection may take (ms). @default 10000 */
  readonly connectTimeout?: number;
  /** A request that gets no reply within this many ms fails (the hub answers 503). @default 5000 */
  readonly commandTimeout?: number;
}

/** The `host:port` servers of a `nats://a:1,b:2` URL (or list of URLs). */
export function natsServers(url: string | readonly string[]): string[] {
  const urls = typeof url === 'string' ? [url] : url;
  const servers: string[] = [];
  for (const one of urls) {
    const rest = one.replace(/^nats:\/\//, '').replace(/[/?].*$/, '');
    for (const part of rest.split(',')) {
      const server = part.trim();
      if (server === '') continue;
      if (!/^[^\s/:]+(:\d{1,5})?$/.test(server)) throw new RangeError(`not a NATS server address: ${server}`);
      servers.push(server);
    }
  }
  if (servers.length === 0) throw new RangeError('a NATS URL needs at least one host:port');
  return servers;
}

/**
 * Connects to NATS; reconnects for ever after the first connection (the stores report themselves
 * unavailable meanwhile). Rejects when no server answers within `connectTimeout`.
 */
export async function connect(options: NatsConnectionOptions, name: string): Promise<NatsConnection> {
  return natsConnect({
    servers: natsServers(options.url),
    name: `herald-${name}`,
    timeout: options.connectTimeout ?? 10_000,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 5_000,
    maxPingOut: 2,
    ignoreClusterUpdates: false,
  });
}

/** Closes the connection, waiting for what it still has to send (bounded by the library). */
export async function disconnect(nc: NatsConnection): Promise<void> {
  if (nc.isClosed()) return;
  try {
    await nc.close();
  } catch {
    // Closing a broken connection has nothing left to release.
  }
}

/** How long (ms) creating or opening the stream and buckets may take at start-up: at least 15 s. */
export function setupDeadline(options: NatsConnectionOptions): number {
  return Math.max(options.connectTimeout ?? 10_000, 15_000);
}

/**
 * Runs `attempt` until it resolves or `deadlineMs` passed, waiting a little more after each
 * failure (at most 1 s): creating the same stream or bucket from several nodes at once, a new
 * replicated stream answers nothing until its replicas elected a leader. Rejects with the last error.
 */
export async function retrying<T>(attempt: () => Promise<T>, deadlineMs: number): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (let round = 0; ; round++) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 100 * 2 ** Math.min(round, 4))));
    }
  }
}
