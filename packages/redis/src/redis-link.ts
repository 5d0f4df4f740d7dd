import { createClient, createCluster, DisconnectsClientError } from '@redis/client';
import { timerMs, type Logger } from '@herald/server';
import { ClusterRefresh, notSent } from './cluster-refresh.js';
import { parseRedisUrl, redactUrl, type RedisTarget } from './redis-url.js';
import { SentinelPrimary } from './sentinel-primary.js';

/** How Herald connects to Redis. */
export interface ConnectionOptions {
  /** A URL of {@link parseRedisUrl}: one server, a Redis Cluster or Redis Sentinel. */
  readonly url: string;
  /** A command that gets no reply within this many ms fails (the hub answers 503). @default 5000 */
  readonly commandTimeout?: number;
  /** How long the first connection may take before the engine gives up. @default 10000 */
  readonly connectTimeout?: number;
  readonly logger: Logger;
}

/** A pub/sub listener: the message and the pub/sub channel it came on. */
export type PubSubListener = (message: string, channel: string) => void;

/** Commands that run in one `MULTI`, all on the slot of `key` (its hash tag decides the slot). */
export interface Transaction {
  readonly key: string;
  readonly commands: readonly (readonly string[])[];
}

type SingleClient = ReturnType<typeof createSingle>;
type ClusterClient = ReturnType<typeof createClusterClient>;

/** Reconnect backoff: 50 ms doubling, capped at 2 s, with jitter. */
const reconnectStrategy = (retries: number): number => Math.min(50 * 2 ** Math.min(retries, 6), 2000) + Math.floor(Math.random() * 100);

/**
 * Attempts to subscribe a channel again after its slot moved or its shard failed over (about 30 s
 * in all); past them the link is not ready (the node leaves its load balancer) and tries on, every
 * 2 s, until the channel is subscribed again or no longer wanted.
 */
const RESUBSCRIBE_ATTEMPTS = 20;
/**
 * Before each attempt (but the first one after a failover): 50 ms doubling, capped at 2 s, with
 * jitter (as {@link reconnectStrategy}).
 */
const resubscribeDelay = reconnectStrategy;
/** node-redis's (internal) event with the pub/sub listeners of a connection it dropped. */
const RESUBSCRIBE_EVENT = '__resubscribeListeners';

/** The listeners node-redis hands over with {@link RESUBSCRIBE_EVENT}, by channel. */
interface DroppedListeners {
  readonly CHANNELS?: ReadonlyMap<string, unknown>;
  readonly SHARDED?: ReadonlyMap<string, unknown>;
}

/**
 * One connection (or set of connections) to Herald's Redis, whatever its kind, with what the
 * stores need: commands routed by key, scripts, transactions on one slot, pub/sub (sharded on a
 * cluster, so a channel's live messages stay on the shard owning the channel), health and
 * reconnect notices. While Redis (or the shard owning a key) is unreachable, commands fail at once:
 * no offline queue holds a publish to acknowledge it later.
 */
export class RedisLink {
  readonly mode: RedisTarget['mode'];
  /** The URL without its password. */
  readonly where: string;
  /** ms a command may wait for its reply. */
  readonly commandTimeout: number;
  readonly #single: SingleClient | undefined;
  readonly #cluster: ClusterClient | undefined;
  readonly #sentinel: SentinelPrimary | undefined;
  readonly #readyListeners: (() => void)[] = [];
  /** On a cluster: the sharded channels subscribed to and their listeners (what a re-subscribe restores). */
  readonly #sharded = new Map<string, Set<PubSubListener>>();
  /** On a cluster: the plain channels subscribed to and their listeners (as {@link #sharded}). */
  readonly #plain = new Map<string, Set<PubSubListener>>();
  /** On a cluster: the channels being subscribed again (`s:` sharded, `p:` plain); a trouble lasts until they are. */
  readonly #resubscribing = new Set<string>();
  /** On a cluster: the channels whose every re-subscribe attempt failed (the link is not ready meanwhile). */
  readonly #lost = new Set<string>();
  /** On a cluster: slot refreshes shared with the node's other links (see {@link ClusterRefresh}). */
  readonly #refresh: ClusterRefresh | undefined;
  #closed = false;

  private constructor(
    mode: RedisTarget['mode'],
    where: string,
    commandTimeout: number,
    clients: { single?: SingleClient; cluster?: ClusterClient; sentinel?: SentinelPrimary },
  ) {
    this.mode = mode;
    this.where = where;
    this.commandTimeout = commandTimeout;
    this.#single = clients.single;
    this.#cluster = clients.cluster;
    this.#sentinel = clients.sentinel;
    if (clients.cluster !== undefined) this.#refresh = new ClusterRefresh(clients.cluster, where);
  }

  /**
   * Connects; resolves once the link can run commands, rejects when that does not happen within
   * `connectTimeout`. `role` names the connections (`CLIENT SETNAME herald-<role>`) and the logs.
   */
  static async open(options: ConnectionOptions, role: string): Promise<RedisLink> {
    const commandTimeout = timerMs('commandTimeout', options.commandTimeout, 5000);
    const connectTimeout = timerMs('connectTimeout', options.connectTimeout, 10_000);
    const target = parseRedisUrl(options.url);
    const where = redactUrl(options.url);
    const settings = { role, commandTimeout, connectTimeout };
    let link: RedisLink;
    let connecting: Promise<unknown>;
    let destroy: () => unknown;
    if (target.mode === 'single') {
      const client = createSingle(target.url, settings);
      link = new RedisLink('single', where, commandTimeout, { single: client });
      connecting = client.connect();
      destroy = () => client.destroy();
    } else if (target.mode === 'cluster') {
      const cluster = createClusterClient(target, settings);
      link = new RedisLink('cluster', where, commandTimeout, { cluster });
      connecting = cluster.connect();
      destroy = () => cluster.destroy();
    } else {
      const sentinel = createSentinelClient(target, settings);
      link = new RedisLink('sentinel', where, commandTimeout, { sentinel });
      connecting = sentinel.connect();
      destroy = () => sentinel.destroy();
    }
    link.#watch(options.logger, role);
    // With Sentinel, why the look-ups failed (a sentinel refusing the credentials, say) ends the error.
    let lastError: unknown;
    link.#sentinel?.on('error', (error) => (lastError = error));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const why = lastError instanceof Error ? `: ${lastError.message}` : '';
        reject(new Error(`cannot connect to Redis at ${where} within ${connectTimeout} ms${why}`, { cause: lastError }));
      }, connectTimeout);
    });
    try {
      await Promise.race([connecting, timeout]);
    } catch (error) {
      link.#closed = true;
      link.#refresh?.close();
      connecting.catch(() => undefined);
      await Promise.resolve(destroy()).catch(() => undefined);
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return link;
  }

  /** Logs the first error of each outage and its end; turns reconnects into {@link onReady} notices. */
  #watch(logger: Logger, role: string): void {
    let down = false;
    const failed = (error: unknown): void => {
      if (down || this.#closed) return;
      down = true;
      logger.warn({ err: error, redis: this.where, role }, 'redis unreachable; reconnecting');
    };
    const restored = (): void => {
      if (!down) return;
      down = false;
      logger.info({ redis: this.where, role }, 'redis connection restored');
    };
    if (this.#single !== undefined) {
      this.#single.on('error', failed);
      this.#single.on('ready', () => {
        restored();
        this.#notifyReady();
      });
    } else if (this.#sentinel !== undefined) {
      this.#sentinel.on('error', failed);
      // After the first connect: a failover's end (the new primary in use), or a reconnect.
      this.#sentinel.on('ready', () => {
        restored();
        this.#notifyReady();
      });
    } else if (this.#cluster !== undefined) {
      const cluster = this.#cluster;
      // A node's trouble (its connection lost, its slots moved) may have dropped pub/sub messages:
      // once the nodes are up again (settled for a moment), the link reports ready again.
      let troubled = false;
      let settle: NodeJS.Timeout | undefined;
      const trouble = (error?: unknown): void => {
        troubled = true;
        if (error !== undefined) failed(error);
      };
      const over = (): void => {
        if (!troubled || this.#closed || this.#resubscribing.size > 0 || !this.#everyPrimaryReady()) return;
        troubled = false;
        restored();
        this.#notifyReady();
      };
      cluster.on('error', failed);
      cluster.on('node-error', (error: unknown) => trouble(error));
      cluster.on('node-reconnecting', () => trouble());
      // A connection that ended on purpose is no trouble: node-redis closes a shard's pub/sub
      // connection once its last sharded channel is unsubscribed (and opens a new one for the next).
      // A lost connection reconnects (node-error, node-reconnecting); one that ends while its node
      // left the primaries (a failover, a node removed) is trouble.
      cluster.on('node-disconnect', (node: { host?: string; port?: number }) => {
        if (!this.#closed && !cluster.masters.some((primary) => primary.host === node.host && primary.port === node.port)) trouble();
      });
      // node-redis hands over the listeners of a pub/sub connection it dropped (its node left the
      // primaries: a failover, a slot moved) and subscribes them again without waiting for the
      // result: a failure would be an unhandled rejection, the channel left with no subscription.
      // Herald subscribes them again itself, retried.
      for (const listener of cluster.listeners(RESUBSCRIBE_EVENT)) cluster.off(RESUBSCRIBE_EVENT, listener as () => void);
      cluster.on(RESUBSCRIBE_EVENT, (dropped: DroppedListeners) => {
        trouble();
        const again = (channel: string, sharded: boolean): void =>
          void this.#resubscribe(channel, sharded, false, logger, role).then((done) => done && over());
        for (const channel of dropped.SHARDED?.keys() ?? []) again(channel, true);
        for (const channel of dropped.CHANNELS?.keys() ?? []) again(channel, false);
      });
      // node-redis re-subscribes once after a slot moved; when that SSUBSCRIBE gets MOVED (the
      // destination still importing) it gives up and the channel has no subscription: retry here.
      cluster.on('sharded-channel-moved-error', (error: unknown, channel: unknown) => {
        trouble(error);
        if (typeof channel === 'string') void this.#resubscribe(channel, true, true, logger, role).then((done) => done && over());
      });
      cluster.on('node-ready', () => {
        // A new primary's connection: the node's other links may not know it yet.
        this.#refresh?.observe();
        if (!troubled || this.#closed) return;
        clearTimeout(settle);
        settle = setTimeout(over, 100);
        settle.unref();
      });
    }
  }

  /**
   * Subscribes a channel's listeners again (after node-redis dropped its connection, or gave up
   * following its slot), with retries and backoff (a new primary may still be importing the slot,
   * or be unreachable for a moment). After {@link RESUBSCRIBE_ATTEMPTS} failures (logged) the link
   * is not ready and tries on, every 2 s. Resolves true once subscribed (or no longer wanted), false
   * when another call is already at it.
   */
  async #resubscribe(channel: string, sharded: boolean, waitFirst: boolean, logger: Logger, role: string): Promise<boolean> {
    const cluster = this.#cluster!;
    const wanted = sharded ? this.#sharded : this.#plain;
    const key = `${sharded ? 's' : 'p'}:${channel}`;
    if (this.#resubscribing.has(key)) return false;
    this.#resubscribing.add(key);
    try {
      for (let attempt = 0; ; attempt++) {
        if (attempt > 0 || waitFirst) await new Promise((resolve) => setTimeout(resolve, resubscribeDelay(attempt)).unref());
        const listeners = wanted.get(channel);
        if (this.#closed || listeners === undefined) return true;
        try {
          // node-redis may keep a failed attempt's listeners on the new owner's connection, as if
          // subscribed: drop them first, or subscribing would send nothing.
          if (sharded) {
            await this.within(cluster.SUNSUBSCRIBE(channel));
            for (const listener of listeners) await this.within(cluster.SSUBSCRIBE(channel, listener));
            // Unsubscribed meanwhile: leave it so.
            if (wanted.get(channel) !== listeners) await this.within(cluster.SUNSUBSCRIBE(channel)).catch(() => undefined);
          } else {
            await this.within(cluster.UNSUBSCRIBE(channel));
            for (const listener of listeners) await this.within(cluster.SUBSCRIBE(channel, listener));
            if (wanted.get(channel) !== listeners) await this.within(cluster.UNSUBSCRIBE(channel)).catch(() => undefined);
          }
          logger.info(
            { redis: this.where, role, channel, attempts: attempt + 1 },
            'redis channel subscribed again after its shard changed',
          );
          return true;
        } catch (error) {
          if (attempt + 1 === RESUBSCRIBE_ATTEMPTS) {
            this.#lost.add(key);
            logger.error(
              { err: error, redis: this.where, role, channel, code: 'redis-resubscribe-failed' },
              'redis channel could not be subscribed again after its shard changed; its live messages are missed and the node is not ready until it is',
            );
          }
        }
      }
    } finally {
      this.#resubscribing.delete(key);
      this.#lost.delete(key);
    }
  }

  #notifyReady(): void {
    if (this.#closed) return;
    for (const listener of this.#readyListeners) listener();
  }

  /**
   * `listener` runs each time the link becomes ready after having been in trouble (reconnected,
   * failed over to a new primary, a shard's slots moved): pub/sub messages may have been lost.
   */
  onReady(listener: () => void): void {
    this.#readyListeners.push(listener);
  }

  /**
   * Whether commands can be sent now. On a cluster: the cluster client is connected and at least
   * one primary's connection is up. One shard without a primary (during its failover) leaves the
   * others serving: only commands for that shard's keys fail (the hub answers 503 for its channels),
   * so the node stays ready instead of every node leaving its load balancer at once.
   */
  get isReady(): boolean {
    if (this.#closed) return false;
    if (this.#single !== undefined) return this.#single.isReady;
    if (this.#sentinel !== undefined) return this.#sentinel.isReady;
    const cluster = this.#cluster!;
    return this.#lost.size === 0 && cluster.isReady && cluster.masters.some((node) => node.client?.isReady === true);
  }

  /** On a cluster: every primary's connection is up (a trouble is over); elsewhere {@link isReady}. */
  #everyPrimaryReady(): boolean {
    if (this.#cluster === undefined) return this.isReady;
    const cluster = this.#cluster;
    return !this.#closed && cluster.isReady && cluster.masters.length > 0 && cluster.masters.every((node) => node.client?.isReady === true);
  }

  /**
   * Sends one command (on a cluster, to the primary of `key`'s slot; any node without a key);
   * rejects when no reply comes within the command timeout.
   */
  command<T = unknown>(key: string | undefined, args: readonly string[]): Promise<T> {
    return this.#sentAgain(() => this.within(this.#send<T>(key, args)), notSent);
  }

  /**
   * `run()`; on a cluster, when it failed with an error `again` accepts (the command was not
   * carried out: the connection to its slot's primary down, see {@link notSent}), once more after
   * a refresh of the slots (a failover may have named a new primary this link does not know yet).
   * Once only: while a shard has no primary its commands still fail at once.
   */
  async #sentAgain<T>(run: () => Promise<T>, again: (error: unknown) => boolean): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (this.#refresh === undefined || this.#closed || !again(error)) throw error;
      await this.#refresh.refresh();
      return await run();
    }
  }

  #send<T>(key: string | undefined, args: readonly string[]): Promise<T> {
    if (this.#single !== undefined) return this.#single.sendCommand<T>([...args]);
    if (this.#sentinel !== undefined) return this.#sentinel.sendCommand<T>([...args]);
    return this.#cluster!.sendCommand<T>(key, false, [...args]);
  }

  /**
   * Runs each transaction's commands in one `MULTI`; returns every reply in order. On one server
   * (or Sentinel) all of them go in a single `MULTI`; on a cluster each transaction is its own
   * `MULTI` on its key's slot, run one after the other (so their order holds, not their atomicity).
   */
  async transaction(transactions: readonly Transaction[]): Promise<unknown[]> {
    if (transactions.length === 0) return [];
    if (this.#cluster !== undefined) {
      const replies: unknown[] = [];
      const cluster = this.#cluster;
      for (const { key, commands } of transactions) {
        const exec = (): Promise<unknown[]> => {
          const multi = cluster.multi(key);
          for (const args of commands) multi.addCommand(key, false, [...args]);
          return this.within(multi.exec());
        };
        replies.push(...(await this.#sentAgain(exec, notSent)));
      }
      return replies;
    }
    if (this.#sentinel !== undefined) {
      const multi = this.#sentinel.current().multi();
      for (const { commands } of transactions) for (const args of commands) multi.addCommand([...args]);
      return await this.within(multi.exec());
    }
    const multi = this.#single!.multi();
    for (const { commands } of transactions) for (const args of commands) multi.addCommand([...args]);
    return await this.within(multi.exec());
  }

  /** Every key matching `match` (a `SCAN` of each primary, on a cluster), in pages of `count`. */
  async scan(match: string, count: number): Promise<string[]> {
    const found: string[] = [];
    const scanOne = async (send: (args: string[]) => Promise<[string, string[]]>): Promise<void> => {
      let cursor = '0';
      do {
        const [next, keys] = await this.within(send(['SCAN', cursor, 'MATCH', match, 'COUNT', String(count)]));
        found.push(...keys);
        cursor = next;
      } while (cursor !== '0' && !this.#closed);
    };
    if (this.#cluster !== undefined) {
      for (const node of this.#cluster.masters) {
        const client = await this.within(this.#cluster.nodeClient(node));
        await scanOne((args) => client.sendCommand<[string, string[]]>(args));
      }
    } else {
      await scanOne((args) => this.#send<[string, string[]]>(undefined, args));
    }
    return found;
  }

  /**
   * PINGs Redis; rejects when it does not answer in time. On a cluster every primary is pinged and
   * one answer is enough (as for {@link isReady}: a shard in trouble fails only its own keys).
   */
  async ping(): Promise<void> {
    if (this.#cluster !== undefined) {
      const cluster = this.#cluster;
      await Promise.any(
        cluster.masters.map(async (node) => {
          const client = await this.within(cluster.nodeClient(node));
          await this.within(client.PING());
        }),
      );
      return;
    }
    await this.command(undefined, ['PING']);
  }

  /**
   * Subscribes `listener` to a channel: `sharded` ones with SSUBSCRIBE on a cluster (on the shard
   * owning the channel's slot, followed when the slot moves), the others with SUBSCRIBE.
   */
  async subscribe(channel: string, listener: PubSubListener, sharded: boolean): Promise<void> {
    if (this.#single !== undefined) await this.within(this.#single.SUBSCRIBE(channel, listener));
    else if (this.#sentinel !== undefined) await this.within(this.#sentinel.subscribe(channel, listener));
    else {
      const cluster = this.#cluster!;
      const wanted = sharded ? this.#sharded : this.#plain;
      const listeners = wanted.get(channel) ?? new Set();
      wanted.set(channel, listeners);
      listeners.add(listener);
      // A primary down: a failover may have named a new one this link does not know yet (a
      // subscribe to the old one would wait for it until the command timeout).
      if (!this.#everyPrimaryReady()) await this.#refresh?.refresh();
      const send = (): Promise<unknown> =>
        this.within(sharded ? cluster.SSUBSCRIBE(channel, listener) : cluster.SUBSCRIBE(channel, listener));
      // A subscribe queued on the connection of a primary that failed waits for it (up to the
      // command timeout): sent again as soon as the link knows other primaries. Subscribing twice
      // does no harm.
      const run = async (): Promise<void> => {
        const reply = send();
        if ((await this.#refresh!.unlessMoved(reply)) !== undefined) return;
        reply.catch(() => undefined);
        await send();
      };
      try {
        // Sent again also when the failed primary's connection was dropped with it still queued.
        await this.#sentAgain(run, (error) => notSent(error) || error instanceof DisconnectsClientError);
      } catch (error) {
        listeners.delete(listener);
        if (listeners.size === 0 && wanted.get(channel) === listeners) wanted.delete(channel);
        throw error;
      }
    }
  }

  async unsubscribe(channel: string, listener: PubSubListener, sharded: boolean): Promise<void> {
    if (this.#single !== undefined) await this.within(this.#single.UNSUBSCRIBE(channel, listener, false));
    else if (this.#sentinel !== undefined) await this.within(this.#sentinel.unsubscribe(channel, listener));
    else {
      const wanted = sharded ? this.#sharded : this.#plain;
      const listeners = wanted.get(channel);
      listeners?.delete(listener);
      if (listeners?.size === 0) wanted.delete(channel);
      if (sharded) await this.within(this.#cluster!.SUNSUBSCRIBE(channel, listener, false));
      else await this.within(this.#cluster!.UNSUBSCRIBE(channel, listener as Parameters<ClusterClient['UNSUBSCRIBE']>[1], false));
    }
  }

  /** Publishes: SPUBLISH for a `sharded` channel on a cluster, else PUBLISH (to every node of a cluster). */
  async publish(channel: string, message: string, sharded: boolean): Promise<void> {
    await this.command(channel, [sharded && this.mode === 'cluster' ? 'SPUBLISH' : 'PUBLISH', channel, message]);
  }

  /**
   * `reply`, or a rejection once the command timeout has passed without one. node-redis applies
   * that timeout only while a command waits to be written: a command already sent to a Redis that
   * stopped answering (frozen, or behind a network black hole) would wait as long as the connection
   * lives. The command still runs if Redis answers later; only the caller stops waiting.
   */
  within<T>(reply: Promise<T>): Promise<T> {
    return replyWithin(this.commandTimeout, reply);
  }

  /**
   * Closes politely when connected (waiting for the replies still due, at most the command timeout:
   * a frozen Redis never sends them), at once otherwise.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    const ready = this.isReady;
    this.#closed = true;
    this.#refresh?.close();
    if (this.#single !== undefined) {
      const client = this.#single;
      if (!client.isOpen) return;
      if (ready) {
        try {
          await this.within(client.close());
          return;
        } catch {
          // Fall through: the connection went away meanwhile, or Redis does not answer.
        }
      }
      if (client.isOpen) client.destroy();
      return;
    }
    if (this.#sentinel !== undefined) {
      const sentinel = this.#sentinel;
      if (ready) {
        try {
          await this.within(sentinel.close());
          return;
        } catch {
          // As above.
        }
      }
      sentinel.destroy();
      return;
    }
    const cluster = this.#cluster!;
    if (!cluster.isOpen) return;
    if (ready) {
      try {
        await this.within(cluster.close());
        return;
      } catch {
        // As above.
      }
    }
    if (cluster.isOpen) await Promise.resolve(cluster.destroy()).catch(() => undefined);
  }
}

/** `reply`, or a rejection after `ms` without one (see {@link RedisLink.within}). */
export function replyWithin<T>(ms: number, reply: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([reply, timeout]).finally(() => clearTimeout(timer));
}

interface Settings {
  readonly role: string;
  readonly commandTimeout: number;
  readonly connectTimeout: number;
}

function createSingle(url: string, settings: Settings) {
  return createClient({
    url,
    name: `herald-${settings.role}`,
    disableOfflineQueue: true,
    commandOptions: { timeout: settings.commandTimeout },
    socket: { connectTimeout: Math.min(settings.connectTimeout, 5000), reconnectStrategy },
  });
}

function nodeOptions(target: Exclude<RedisTarget, { mode: 'single' }>, settings: Settings) {
  return {
    name: `herald-${settings.role}`,
    disableOfflineQueue: true,
    commandOptions: { timeout: settings.commandTimeout },
    ...(target.username !== undefined && { username: target.username }),
    ...(target.password !== undefined && { password: target.password }),
    socket: { connectTimeout: Math.min(settings.connectTimeout, 5000), reconnectStrategy, ...(target.tls && { tls: true as const }) },
  };
}

function createClusterClient(target: Exclude<RedisTarget, { mode: 'single' }>, settings: Settings) {
  return createCluster({
    rootNodes: target.hosts.map(({ host, port }) => ({ socket: { host, port, ...(target.tls && { tls: true as const }) } })),
    defaults: nodeOptions(target, settings),
    commandOptions: { timeout: settings.commandTimeout },
    // A node that keeps failing to reconnect: ask the cluster who serves its slots now, twice a
    // second (a replica takes over after `cluster-node-timeout`).
    topologyRefreshOnReconnectionAttemptStrategy: 500,
  });
}

/**
 * The primary the sentinels name, behind one client with the options of a client to one server:
 * refused at once while there is none, never re-sent (node-redis's Sentinel client queues and
 * re-sends: see {@link SentinelPrimary}).
 */
function createSentinelClient(target: Exclude<RedisTarget, { mode: 'single' }>, settings: Settings) {
  return new SentinelPrimary({
    sentinels: target.hosts,
    masterName: target.masterName,
    client: nodeOptions(target, settings),
    sentinelName: `herald-${settings.role}-sentinel`,
    ...(target.sentinelUsername !== undefined && { sentinelUsername: target.sentinelUsername }),
    ...(target.sentinelPassword !== undefined && { sentinelPassword: target.sentinelPassword }),
    commandTimeout: settings.commandTimeout,
  });
}
