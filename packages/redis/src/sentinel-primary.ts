import { createClient } from '@redis/client';

/** A host and port (a sentinel's, or the primary's as the sentinels name it). */
export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

/** The options of every connection to the primary: those of a client to one Redis server. */
export interface PrimaryClientOptions {
  readonly name: string;
  readonly commandOptions: { readonly timeout: number };
  readonly username?: string;
  readonly password?: string;
  readonly socket: { readonly connectTimeout: number; readonly tls?: true };
}

/** Options of {@link SentinelPrimary}. */
export interface SentinelPrimaryOptions {
  /** Where the sentinels are; any one that answers is asked. */
  readonly sentinels: readonly RedisAddress[];
  /** The name the sentinels monitor the primary under. */
  readonly masterName: string;
  /** Options of the connection to the primary (credentials, TLS, name, command timeout). */
  readonly client: PrimaryClientOptions;
  /** `CLIENT SETNAME` of the connections to the sentinels. */
  readonly sentinelName: string;
  /** The sentinels' own user (`AUTH`), for every sentinel connection; the primary's credentials are in `client`. */
  readonly sentinelUsername?: string;
  /** The sentinels' own password (`requirepass` or an ACL user's), for every sentinel connection. */
  readonly sentinelPassword?: string;
  /** ms a sentinel, or a new primary's `ROLE`, may take to answer. */
  readonly commandTimeout: number;
  /** How often the sentinels are asked while the primary's connection is up, in ms. @default 1000 */
  readonly pollInterval?: number;
}

/** A pub/sub listener: the message and the pub/sub channel it came on. */
type Listener = (message: string, channel: string) => void;

/** A connection to the primary: an ordinary client to one server. */
export type PrimaryClient = ReturnType<typeof connectionTo>;

function connectionTo(address: RedisAddress, options: PrimaryClientOptions) {
  return createClient({
    name: options.name,
    // Refuse at once while not connected: no offline queue holds a command to send it later.
    disableOfflineQueue: true,
    commandOptions: { timeout: options.commandOptions.timeout },
    ...(options.username !== undefined && { username: options.username }),
    ...(options.password !== undefined && { password: options.password }),
    socket: {
      host: address.host,
      port: address.port,
      connectTimeout: options.socket.connectTimeout,
      ...(options.socket.tls && { tls: true as const }),
      // A lost connection is not re-established by the client: the next look-up asks the sentinels
      // where the primary is now, and connects there with a client of its own.
      reconnectStrategy: false as const,
    },
  });
}

function connectionToSentinel(address: RedisAddress, options: SentinelPrimaryOptions) {
  return createClient({
    name: options.sentinelName,
    disableOfflineQueue: true,
    commandOptions: { timeout: options.commandTimeout },
    ...(options.sentinelUsername !== undefined && { username: options.sentinelUsername }),
    ...(options.sentinelPassword !== undefined && { password: options.sentinelPassword }),
    socket: { host: address.host, port: address.port, connectTimeout: options.client.socket.connectTimeout, reconnectStrategy: false },
  });
}

/** The error of a command sent while no primary is in use (a failover, or the primary unreachable). */
export class NoPrimaryError extends Error {
  readonly code = 'REDIS_NO_PRIMARY';
  constructor(masterName: string) {
    super(`no Redis primary for "${masterName}" is in use now (a failover, or the primary unreachable)`);
    this.name = 'NoPrimaryError';
  }
}

/** The first wait before looking again after a look-up found no usable primary (doubling up to the poll interval). */
const FIRST_RETRY_MS = 100;

/**
 * The primary Redis Sentinel names, behind one ordinary client that behaves like a client to one
 * server: while no primary answers (the old one died, the sentinels have not promoted another
 * yet) every command is refused at once, and a command is never sent twice (a command in flight
 * when the connection drops fails; nothing is queued or re-sent to the next primary). node-redis's
 * own Sentinel client instead holds commands until it finds a primary and re-sends a command after
 * a connection error, so a publish the hub refused after its timeout could be stored later, or twice.
 *
 * The sentinels are asked `SENTINEL get-master-addr-by-name` about once a `pollInterval`, and
 * more often (100 ms, doubling up to the interval) while the primary's connection is down. When
 * they name another address, or the connection dropped, a new client connects there, must answer
 * `ROLE` with `master`, gets every pub/sub listener subscribed again, and is swapped in; then the
 * `ready` listeners run (pub/sub messages may have been lost meanwhile).
 */
export class SentinelPrimary {
  readonly #options: SentinelPrimaryOptions;
  readonly #pollInterval: number;
  /** The client in use (its `ROLE` said master when it was swapped in). */
  #client: PrimaryClient | undefined;
  #address: string | undefined;
  /** A client being connected and checked, not yet in use. */
  #candidate: PrimaryClient | undefined;
  /** The connection to the sentinel asked now, and which of them it is. */
  #sentinel: ReturnType<typeof connectionToSentinel> | undefined;
  #sentinelIndex = 0;
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #errorListeners: ((error: unknown) => void)[] = [];
  readonly #readyListeners: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;
  #polling = false;
  /** Look-ups in a row that ended without a usable primary. */
  #failures = 0;
  /** Settles while a new client is swapped in (an unsubscribe waits for it). */
  #swapping: Promise<void> = Promise.resolve();
  #closed = false;
  #connected: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(options: SentinelPrimaryOptions) {
    if (options.sentinels.length === 0) throw new RangeError('at least one sentinel is needed');
    this.#options = options;
    this.#pollInterval = options.pollInterval ?? 1000;
  }

  /** Starts looking for the primary; resolves once a client to it is in use (rejects when closed first). */
  connect(): Promise<void> {
    const connected = new Promise<void>((resolve, reject) => {
      this.#connected = { resolve, reject };
    });
    this.#schedule(0);
    return connected;
  }

  /** `error`: a connection to the primary or a sentinel failed; `ready`: a client to the primary was swapped in. */
  on(event: 'error', listener: (error: unknown) => void): void;
  on(event: 'ready', listener: () => void): void;
  on(event: 'error' | 'ready', listener: ((error: unknown) => void) | (() => void)): void {
    if (event === 'error') this.#errorListeners.push(listener);
    else this.#readyListeners.push(listener as () => void);
  }

  /** Whether a client to the primary is in use and connected. */
  get isReady(): boolean {
    return !this.#closed && this.#client?.isReady === true;
  }

  /** The client in use; throws {@link NoPrimaryError} while none is connected. */
  current(): PrimaryClient {
    const client = this.#client;
    if (this.#closed || client?.isReady !== true) throw new NoPrimaryError(this.#options.masterName);
    return client;
  }

  /** Sends one command to the primary; rejects at once while none is connected. */
  async sendCommand<T>(args: string[]): Promise<T> {
    return await this.current().sendCommand<T>(args);
  }

  /** Subscribes `listener` now and on every primary swapped in later; rejects at once while none is connected. */
  async subscribe(channel: string, listener: Listener): Promise<void> {
    // While no primary is in use: refused, and not kept for the next primary either.
    const client = this.current();
    let listeners = this.#listeners.get(channel);
    if (listeners === undefined) this.#listeners.set(channel, (listeners = new Set()));
    listeners.add(listener);
    await client.SUBSCRIBE(channel, listener);
  }

  /** Removes `listener` (from the primary in use, and from those swapped in later). */
  async unsubscribe(channel: string, listener: Listener): Promise<void> {
    const listeners = this.#listeners.get(channel);
    listeners?.delete(listener);
    if (listeners?.size === 0) this.#listeners.delete(channel);
    // A swap in progress may have subscribed it on the new client already.
    await this.#swapping;
    const client = this.#client;
    if (client?.isReady === true) await client.UNSUBSCRIBE(channel, listener, false);
  }

  /** Stops looking and closes the primary's client politely (waiting for the replies still due). */
  async close(): Promise<void> {
    const client = this.#stop();
    if (client?.isOpen === true) await client.close();
  }

  /** Stops looking and drops every connection at once. */
  destroy(): void {
    this.#stop()?.destroy();
  }

  /** Stops the look-ups, drops the sentinel's and any candidate's connection; returns the client in use. */
  #stop(): PrimaryClient | undefined {
    if (this.#closed) return undefined;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#sentinel?.destroy();
    this.#sentinel = undefined;
    this.#candidate?.destroy();
    this.#candidate = undefined;
    this.#connected?.reject(new Error('closed before a Redis primary was found'));
    this.#connected = undefined;
    const client = this.#client;
    this.#client = undefined;
    return client;
  }

  #schedule(delay: number): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#lookUp(), delay);
    this.#timer.unref();
  }

  /** The primary's connection dropped: look again soon. */
  #wake(): void {
    if (!this.#polling) this.#schedule(0);
  }

  #emitError(error: unknown): void {
    if (this.#closed) return;
    for (const listener of this.#errorListeners) listener(error);
  }

  async #lookUp(): Promise<void> {
    if (this.#closed || this.#polling) return;
    this.#polling = true;
    try {
      const address = await this.#ask();
      if (address !== undefined && !this.#closed) {
        const key = `${address.host}:${address.port}`;
        if (key !== this.#address || this.#client?.isReady !== true) await this.#switchTo(address, key);
      }
    } catch (error) {
      this.#emitError(error);
    } finally {
      this.#polling = false;
    }
    if (this.isReady) this.#failures = 0;
    else this.#failures++;
    const delay = this.isReady ? this.#pollInterval : Math.min(FIRST_RETRY_MS * 2 ** Math.min(this.#failures - 1, 10), this.#pollInterval);
    this.#schedule(delay);
  }

  /** Where the sentinels say the primary is: the first sentinel that answers (each tried once at most). */
  async #ask(): Promise<RedisAddress | undefined> {
    const { sentinels, masterName, commandTimeout } = this.#options;
    let lastError: unknown;
    for (let tried = 0; tried < sentinels.length && !this.#closed; tried++) {
      const at = sentinels[this.#sentinelIndex % sentinels.length]!;
      try {
        if (this.#sentinel === undefined) {
          const sentinel = connectionToSentinel(at, this.#options);
          sentinel.on('error', () => {
            if (this.#sentinel === sentinel) this.#sentinel = undefined;
            sentinel.destroy();
          });
          this.#sentinel = sentinel;
          await within(commandTimeout, sentinel.connect());
        }
        const sentinel = this.#sentinel;
        if (sentinel === undefined) throw new Error('the sentinel connection dropped');
        const reply = await within(
          commandTimeout,
          sentinel.sendCommand<[string, string] | null>(['SENTINEL', 'get-master-addr-by-name', masterName]),
        );
        if (Array.isArray(reply) && reply.length === 2) return { host: reply[0], port: Number(reply[1]) };
        throw new Error(`the sentinel does not know the primary "${masterName}"`);
      } catch (error) {
        this.#sentinel?.destroy();
        this.#sentinel = undefined;
        this.#sentinelIndex++;
        lastError = refusal(error, at, this.#options.sentinelPassword !== undefined) ?? error;
      }
    }
    // One sentinel down is no outage; none answering while the primary is unknown is one.
    if (lastError !== undefined && !this.isReady) this.#emitError(lastError);
    return undefined;
  }

  /** Connects to `address`, checks it is a primary, subscribes every listener there and swaps it in. */
  async #switchTo(address: RedisAddress, key: string): Promise<void> {
    const { commandTimeout } = this.#options;
    const candidate = connectionTo(address, this.#options.client);
    this.#candidate = candidate;
    candidate.on('error', (error: unknown) => {
      if (candidate !== this.#client && candidate !== this.#candidate) return;
      this.#emitError(error);
      if (candidate === this.#client) this.#wake();
    });
    try {
      await within(commandTimeout, candidate.connect());
      const role = await within(commandTimeout, candidate.sendCommand<unknown[]>(['ROLE']));
      if (role[0] !== 'master') throw new Error(`${key} is not a primary (ROLE ${String(role[0])})`);
      if (this.#closed) throw new Error('closed');
      let settle!: () => void;
      this.#swapping = new Promise((resolve) => (settle = resolve));
      try {
        // The old client's commands and subscriptions end here: nothing it held goes to the new one.
        const old = this.#client;
        this.#client = undefined;
        this.#address = undefined;
        old?.destroy();
        for (const [channel, listeners] of this.#listeners)
          for (const listener of listeners) await within(commandTimeout, candidate.SUBSCRIBE(channel, listener));
        if (this.#closed) throw new Error('closed');
        this.#candidate = undefined;
        this.#client = candidate;
        this.#address = key;
      } finally {
        settle();
      }
    } catch (error) {
      if (this.#candidate === candidate) this.#candidate = undefined;
      candidate.destroy();
      if (!this.#closed) throw error;
      return;
    }
    this.#connected?.resolve();
    this.#connected = undefined;
    for (const listener of this.#readyListeners) listener();
  }
}

/**
 * A sentinel's refusal of the credentials (`NOAUTH`: none given, `WRONGPASS`/`AUTH`: wrong ones) as
 * an error that says which options to check; `undefined` for any other error. Redis's replies never
 * quote a password, and neither does this.
 */
function refusal(error: unknown, at: RedisAddress, given: boolean): SentinelAuthError | undefined {
  const message = error instanceof Error ? error.message : String(error);
  if (!/^(NOAUTH|WRONGPASS)\b|\bAUTH\b/.test(message)) return undefined;
  return new SentinelAuthError(at, message, given, error);
}

/** A sentinel refused the connection's credentials (see the `sentinelUsername`/`sentinelPassword` URL options). */
export class SentinelAuthError extends Error {
  readonly code = 'REDIS_SENTINEL_AUTH';
  constructor(at: RedisAddress, reply: string, given: boolean, cause: unknown) {
    const hint = given
      ? "check the URL's sentinelUsername and sentinelPassword options"
      : "the sentinels require a password: give it as the URL's sentinelPassword option (and sentinelUsername for an ACL user)";
    super(`sentinel ${at.host}:${at.port} refused the connection (${reply.split('\n')[0]}): ${hint}`, { cause });
    this.name = 'SentinelAuthError';
  }
}

/** `reply`, or a rejection after `ms` without one. */
function within<T>(ms: number, reply: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([reply, timeout]).finally(() => clearTimeout(timer));
}
