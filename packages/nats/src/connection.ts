import { connect as natsConnect, type NatsConnection } from '@nats-io/transport-node';

/** Options shared by the NATS stores. */
export interface NatsConnectionOptions {
  /**
   * `nats://host:port[,host:port…]` (several servers of one cluster), or a list of them. A server
   * may carry credentials, `user:password@host:port` or `token@host:port` (percent-encoded or not:
   * everything up to the last `@` of the entry); the first ones found are used.
   */
  readonly url: string | readonly string[];
  /** How long the first connection may take (ms). @default 10000 */
  readonly connectTimeout?: number;
  /** A request that gets no reply within this many ms fails (the hub answers 503). @default 5000 */
  readonly commandTimeout?: number;
}

/** Credentials found in a NATS URL. */
export interface NatsCredentials {
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
}

/** The entries of a `nats://a:1,b:2` URL (or list of URLs), each split at its last `@`. */
function entries(url: string | readonly string[]): { readonly auth: string | undefined; readonly server: string }[] {
  const found: { auth: string | undefined; server: string }[] = [];
  for (const one of typeof url === 'string' ? [url] : url) {
    for (const part of one.replace(/^nats:\/\//, '').split(',')) {
      const at = part.lastIndexOf('@');
      const server = part
        .slice(at + 1)
        .replace(/[/?#].*$/, '')
        .trim();
      found.push({ auth: at < 0 ? undefined : part.slice(0, at).replace(/^nats:\/\//, ''), server });
    }
  }
  return found;
}

/**
 * A NATS URL as it may appear in errors and logs: everything up to the last `@` of each
 * comma-separated entry (user, password or token, which may hold `/`, `?`, `#` or `@`) hidden.
 */
export function redactNatsUrl(text: string): string {
  return text
    .split(',')
    .map((part) => {
      const at = part.lastIndexOf('@');
      if (at < 0) return part;
      const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(part)?.[0] ?? '';
      return `${scheme}***@${part.slice(at + 1)}`;
    })
    .join(',');
}

/** The `host:port` servers of a `nats://a:1,b:2` URL (or list of URLs), credentials left out. */
export function natsServers(url: string | readonly string[]): string[] {
  const servers: string[] = [];
  for (const [index, { server }] of entries(url).entries()) {
    if (server === '') continue;
    // Never quoted: a mistyped entry may hold a credential.
    if (!/^[^\s/:@]+(:\d{1,5})?$/.test(server)) throw new RangeError(`NATS server ${index + 1} of the URL is not a host:port`);
    servers.push(server);
  }
  if (servers.length === 0) throw new RangeError('a NATS URL needs at least one host:port');
  return servers;
}

/** The credentials of the first entry of the URL that has some (`user:password@` or `token@`). */
export function natsCredentials(url: string | readonly string[]): NatsCredentials {
  const auth = entries(url).find((entry) => entry.auth !== undefined && entry.auth !== '')?.auth;
  if (auth === undefined) return {};
  const colon = auth.indexOf(':');
  if (colon < 0) return { token: decode(auth) };
  return { user: decode(auth.slice(0, colon)), pass: decode(auth.slice(colon + 1)) };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Connects to NATS; reconnects for ever after the first connection (the stores report themselves
 * unavailable meanwhile). Rejects when no server answers within `connectTimeout`.
 */
export async function connect(options: NatsConnectionOptions, name: string): Promise<NatsConnection> {
  return natsConnect({
    servers: natsServers(options.url),
    ...natsCredentials(options.url),
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
