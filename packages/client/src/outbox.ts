import { checkChannelName, checkIdempotencyKey, type PublishResult } from '@herald/protocol';
import { backoffDelay } from './backoff.js';
import { HeraldClientError } from './errors.js';
import type { OutboxHandle, OutboxHost, OutboxPlugin } from './outbox-contract.js';
import { outboxStore, type OutboxItem, type OutboxStore } from './outbox-store.js';
import type { Transport } from './transports/transport.js';
import type { OutboxOptions } from './types.js';

export { memoryOutboxStore, type OutboxItem, type OutboxStore } from './outbox-store.js';
export type { OutboxEvent, OutboxOptions } from './types.js';
export type { OutboxPlugin } from './outbox-contract.js';

/** The outbox's limits, as {@link Outbox} takes them (defaults applied). */
interface OutboxLimits {
  readonly maxItems: number;
  readonly maxBytes: number;
  readonly maxAge: number;
  readonly idempotencyTtl: number;
}

/**
 * The offline outbox for `createClient({ outbox: outbox(options) })`: publishes made while
 * offline (or while the connection is down) are kept, each with an idempotency key, and sent once,
 * in order, when the client is connected. See docs/client.md#offline-outbox.
 */
export function outbox(options: OutboxOptions = {}): OutboxPlugin {
  const limits: OutboxLimits = {
    maxItems: options.maxItems ?? 1000,
    maxBytes: options.maxBytes ?? 1_048_576,
    maxAge: options.maxAge ?? 86_400_000,
    idempotencyTtl: options.idempotencyTtl ?? 300_000,
  };
  for (const [name, value] of Object.entries(limits)) {
    if (typeof value !== 'number' || !(value > 0)) throw new RangeError(`outbox ${name} must be a number > 0`);
  }
  const { user } = options;
  if (user !== undefined && (typeof user !== 'string' || user === '')) throw new TypeError('outbox user must be a non-empty string');
  return (hub, host) => new Outbox(hub, outboxStore(options.store), limits, host, user);
}

/** Whether `value`, read from a store, is an item this outbox can send. */
function isItem(value: unknown, hub: string): value is OutboxItem {
  if (typeof value !== 'object' || value === null) return false;
  const item = value as Record<string, unknown>;
  if (item['hub'] !== hub || typeof item['id'] !== 'string' || typeof item['user'] !== 'string') return false;
  if (!checkChannelName(item['channel']).ok || !checkIdempotencyKey(item['key']).ok) return false;
  if (typeof item['at'] !== 'number' || typeof item['seq'] !== 'number') return false;
  if (item['sentAt'] !== undefined && typeof item['sentAt'] !== 'number') return false;
  if (typeof item['json'] !== 'string') return false;
  try {
    JSON.parse(item['json']);
    return true;
  } catch {
    return false;
  }
}

/** A JWT's `sub`, unverified, or undefined when the token is not a JWT with one. */
function jwtSubject(token: string): string | undefined {
  try {
    const payload = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: unknown };
    return typeof payload.sub === 'string' ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}

interface Waiter {
  resolve(result: PublishResult): void;
  reject(error: HeraldClientError): void;
}

/** A random idempotency key (a UUID where `crypto.randomUUID` exists: it needs a secure context). */
function randomKey(): string {
  const crypto = globalThis.crypto;
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * An error that says nothing about the publish itself (the connection, a rate limit, a hook that
 * could not decide, an expired token): the item is sent again, with the same key. The others
 * (`1xxx` bad request, `2000`/`2001`/`2003` refused) are final.
 */
function isTransient(error: HeraldClientError): boolean {
  return typeof error.code === 'string' || error.code === 2002 || error.code >= 3000;
}

/**
 * Publishes kept until the hub stored them: each gets an idempotency key when it is made, and is
 * sent one at a time, in order, whenever the client is connected; one sent but unanswered is sent
 * again with the same key, so the hub stores it once (answering `duplicate: true` to the repeat).
 */
class Outbox implements OutboxHandle {
  readonly #hub: string;
  /** The user named by `outbox({ user })`, if any. */
  readonly #fixedUser: string | undefined;
  readonly #store: OutboxStore;
  readonly #limits: OutboxLimits;
  readonly #host: OutboxHost;
  /** Items of every user this client knows of (its own, and those an earlier page left), by id. */
  readonly #items = new Map<string, OutboxItem>();
  readonly #waiters = new Map<string, Waiter>();
  /** Items being written to the store: not sent before they are kept. */
  readonly #storing = new Set<string>();
  /** Items settled but not yet deleted from the store: a read of the store must not bring them back. */
  readonly #deleting = new Set<string>();
  /** Users whose stored items were loaded. */
  readonly #loaded = new Set<string>();
  #seq = 0;
  #flushing = false;
  #again = false;
  #failures = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #expiry: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** The attempt in flight: abandoned (as a lost connection) when another transport takes over. */
  #inflight: { readonly transport: Transport; abandon(): void } | undefined;

  constructor(hub: string, store: OutboxStore, limits: OutboxLimits, host: OutboxHost, user: string | undefined) {
    this.#hub = hub;
    this.#store = store;
    this.#limits = limits;
    this.#host = host;
    this.#fixedUser = user;
    // What an earlier page left is sent without waiting for this one to subscribe or publish.
    if (store.persistent) {
      store.load(hub).then(
        (items) => items.length > 0 && !this.#closed && host.connect(),
        () => undefined,
      );
    }
  }

  /** Who publishes: `outbox({ user })`, else the token's JWT `sub`, `token` for another kind of token, `anonymous` without one. */
  #user(): string {
    if (this.#fixedUser !== undefined) return this.#fixedUser;
    const token = this.#host.token();
    if (token === undefined) return 'anonymous';
    const sub = jwtSubject(token);
    return sub === undefined ? 'token' : `sub:${sub}`;
  }

  /** Queues a publish; resolves once the hub stored it, rejects when it is refused or given up. */
  async publish(channel: string, data: unknown, idempotencyKey: string | undefined): Promise<PublishResult> {
    if (this.#closed) throw new HeraldClientError('closed', 'the client is closed');
    const name = checkChannelName(channel);
    if (!name.ok) throw new HeraldClientError(name.error.code, name.error.message);
    if (idempotencyKey !== undefined) {
      const key = checkIdempotencyKey(idempotencyKey);
      if (!key.ok) throw new HeraldClientError(key.error.code, key.error.message);
    }
    let json: string | undefined;
    try {
      json = JSON.stringify(data);
    } catch (error) {
      // A cycle, a BigInt: nothing the hub could take.
      throw new HeraldClientError(1005, `data is not JSON: ${(error as Error).message}`);
    }
    if (json === undefined) throw new HeraldClientError(1005, 'data must be a JSON value');
    const user = this.#user();
    await this.#load(user);
    if (this.#closed) throw new HeraldClientError('closed', 'the client is closed');
    const mine = [...this.#items.values()].filter((item) => item.user === user);
    const bytes = mine.reduce((sum, item) => sum + item.json.length, 0);
    if (mine.length >= this.#limits.maxItems || bytes + json.length > this.#limits.maxBytes) {
      throw new HeraldClientError(
        'outbox-full',
        `the outbox is full (${mine.length} items, ${bytes} bytes; at most ${this.#limits.maxItems} items, ${this.#limits.maxBytes} bytes): this publish was not queued`,
      );
    }
    const id = randomKey();
    const item: OutboxItem = {
      id,
      hub: this.#hub,
      user,
      key: idempotencyKey ?? id,
      channel,
      json,
      at: Date.now(),
      seq: this.#seq++,
    };
    // Counted at once (publishes made in the same tick see each other), sent once stored.
    this.#items.set(id, item);
    this.#storing.add(id);
    const settled = new Promise<PublishResult>((resolve, reject) => this.#waiters.set(id, { resolve, reject }));
    try {
      await this.#store.put(item);
    } catch (error) {
      this.#items.delete(id);
      this.#waiters.delete(id);
      throw new HeraldClientError('outbox-store', `the outbox could not keep the publish: ${(error as Error).message}`);
    } finally {
      this.#storing.delete(id);
    }
    this.#kick();
    return settled;
  }

  /**
   * Sends what is queued; called on every (re)connection. A persistent store is read again first:
   * what another tab or an earlier page left (and its client did not send) goes too.
   */
  flush(): void {
    if (this.#store.persistent) this.#loaded.clear();
    this.#kick();
  }

  /** Sends what is queued, if connected. */
  #kick(): void {
    if (this.#closed) return;
    if (this.#flushing) {
      this.#again = true;
      // An answer on a connection the client has left may never come (a half-open socket): the
      // item goes again, with its key, on the new one.
      if (this.#inflight !== undefined && this.#inflight.transport !== this.#host.transport()) this.#inflight.abandon();
      return;
    }
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#flushing = true;
    void this.#drain()
      .catch(() => undefined)
      .finally(() => {
        this.#flushing = false;
        if (this.#again) {
          this.#again = false;
          this.#kick();
        } else this.#scheduleExpiry();
      });
  }

  /**
   * Stops: this client's promises reject with `'closed'`. A persistent store keeps the items for
   * the next client of the hub and user; the memory store's go with the client.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retry);
    clearTimeout(this.#expiry);
    const kept = this.#store.persistent;
    for (const [id, waiter] of this.#waiters) {
      waiter.reject(
        new HeraldClientError(
          'closed',
          kept ? 'the client is closed: the publish stays in the outbox for the next client of this hub and user' : 'the client is closed',
        ),
      );
      if (!kept) void this.#store.delete(id).catch(() => undefined);
    }
    this.#waiters.clear();
    this.#items.clear();
  }

  async #load(user: string): Promise<void> {
    if (this.#loaded.has(user) || !this.#store.persistent) return;
    this.#loaded.add(user);
    // This user's items already kept in the store before this read: one the read lacks was taken
    // by another client of the store (another tab sent it, or gave it up) and is not sent again.
    const held = [...this.#items.values()].filter((item) => item.user === user && !this.#storing.has(item.id));
    let stored: OutboxItem[];
    try {
      stored = await this.#store.load(this.#hub);
    } catch {
      this.#loaded.delete(user);
      return;
    }
    const found = new Set<string>();
    for (const item of stored as unknown[]) {
      if (!isItem(item, this.#hub)) {
        // Not what an outbox wrote (another version, a damaged store): dropped, never sent.
        const id = (item as { id?: unknown } | null)?.id;
        if (typeof id === 'string') void this.#store.delete(id).catch(() => undefined);
        continue;
      }
      found.add(item.id);
      const mine = this.#items.get(item.id);
      // Another client's first attempt counts for the idempotency window too.
      if (mine !== undefined && mine.sentAt === undefined && item.sentAt !== undefined) mine.sentAt = item.sentAt;
      if (item.user === user && mine === undefined && !this.#deleting.has(item.id)) this.#items.set(item.id, item);
    }
    for (const item of held) {
      if (found.has(item.id) || this.#items.get(item.id) !== item || this.#deleting.has(item.id)) continue;
      void this.#settle(item, {
        type: 'failed',
        error: new HeraldClientError(
          'outbox-unconfirmed',
          'another client of this hub and user took it from the outbox (it sent it, or gave it up): not sent again, so it is never stored twice',
        ),
      });
    }
  }

  /** The next item of `user` to send: the oldest. */
  #next(user: string): OutboxItem | undefined {
    let next: OutboxItem | undefined;
    for (const item of this.#items.values()) {
      if (item.user !== user) continue;
      // Order holds: nothing after an item still being stored goes before it.
      if (this.#storing.has(item.id)) return undefined;
      if (next === undefined || item.at < next.at || (item.at === next.at && item.seq < next.seq)) next = item;
    }
    return next;
  }

  async #send(): Promise<void> {
    const user = this.#user();
    this.#dropOthers(user);
    await this.#load(user);
    for (;;) {
      if (this.#closed) return;
      this.#expire(Date.now());
      const transport = this.#host.transport();
      const item = this.#next(user);
      if (transport === undefined || item === undefined) return;
      if (item.sentAt === undefined) {
        item.sentAt = Date.now();
        // Persisted before the send: a reload must know the hub may have it (see #expire).
        await this.#store.put(item).catch(() => undefined);
      }
      let result: PublishResult;
      try {
        result = await new Promise<PublishResult>((resolve, reject) => {
          this.#inflight = { transport, abandon: () => reject(new HeraldClientError('closed', 'the connection was replaced')) };
          transport.publish(item.channel, JSON.parse(item.json), item.key).then(resolve, reject);
        });
      } catch (error) {
        const failure = error instanceof HeraldClientError ? error : new HeraldClientError('internal', String(error));
        if (!isTransient(failure)) {
          await this.#settle(item, { type: 'failed', error: failure });
          continue;
        }
        // Sent again with the same key: on the next connection, or after a backoff while connected.
        if (this.#host.transport() === transport) {
          const delay = backoffDelay(this.#failures++, 500, 30_000);
          this.#retry = setTimeout(() => this.#kick(), delay);
        }
        return;
      }
      this.#failures = 0;
      await this.#settle(item, { type: 'sent', result });
    }
  }

  async #drain(): Promise<void> {
    try {
      await this.#send();
    } finally {
      this.#inflight = undefined;
    }
  }

  async #settle(
    item: OutboxItem,
    outcome: { type: 'sent'; result: PublishResult } | { type: 'failed'; error: HeraldClientError },
  ): Promise<void> {
    if (!this.#items.delete(item.id)) return;
    this.#deleting.add(item.id);
    await this.#store.delete(item.id).catch(() => undefined);
    this.#deleting.delete(item.id);
    const waiter = this.#waiters.get(item.id);
    this.#waiters.delete(item.id);
    const base = { id: item.id, key: item.key, channel: item.channel, data: JSON.parse(item.json) as unknown };
    if (outcome.type === 'sent') {
      waiter?.resolve(outcome.result);
      this.#host.report({ ...base, type: 'sent', result: outcome.result });
    } else {
      waiter?.reject(outcome.error);
      this.#host.report({ ...base, type: 'failed', error: outcome.error });
    }
  }

  /**
   * Gives up items past their time: never sent and older than `maxAge` (`'outbox-expired'`: not
   * stored), or first sent longer ago than the hub's `idempotencyTtl` without an answer
   * (`'outbox-unconfirmed'`: maybe stored; sending it again could store it twice).
   */
  #expire(now: number): void {
    for (const item of [...this.#items.values()]) {
      if (item.sentAt !== undefined && now - item.sentAt >= this.#limits.idempotencyTtl) {
        void this.#settle(item, {
          type: 'failed',
          error: new HeraldClientError(
            'outbox-unconfirmed',
            `no answer within the hub's idempotency window (${this.#limits.idempotencyTtl} ms) since it was first sent: the hub may or may not have stored it, and sending it again could store it twice`,
          ),
        });
      } else if (item.sentAt === undefined && now - item.at >= this.#limits.maxAge) {
        void this.#settle(item, {
          type: 'failed',
          error: new HeraldClientError('outbox-expired', `not sent within maxAge (${this.#limits.maxAge} ms): it was not stored`),
        });
      }
    }
  }

  /** Arms a timer for the next item to expire while the outbox waits. */
  #scheduleExpiry(): void {
    clearTimeout(this.#expiry);
    this.#expiry = undefined;
    let at = Infinity;
    for (const item of this.#items.values()) {
      at = Math.min(at, item.sentAt !== undefined ? item.sentAt + this.#limits.idempotencyTtl : item.at + this.#limits.maxAge);
    }
    if (at === Infinity || this.#closed) return;
    // setTimeout holds at most 2^31-1 ms; a later deadline re-arms on the way.
    this.#expiry = setTimeout(
      () => {
        this.#expire(Date.now());
        this.#scheduleExpiry();
      },
      Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1),
    );
    // Never the reason a Node process stays up.
    (this.#expiry as { unref?: () => void }).unref?.();
  }

  /** The user changed: what this client holds for another user is dropped, never sent as this one. */
  #dropOthers(user: string): void {
    for (const item of [...this.#items.values()]) {
      if (item.user === user) continue;
      void this.#settle(item, {
        type: 'failed',
        error: new HeraldClientError('outbox-user-changed', `queued by user ${item.user}; the client now publishes as another user`),
      });
      this.#loaded.delete(item.user);
    }
  }
}
