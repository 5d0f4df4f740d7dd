import type { AcksResult, BatchEntryResult, BatchMessage, Envelope, Gap, PresenceResult, PublishResult } from '@herald/protocol';
import { resolveOptions, type BackendClientOptions, type ResolvedOptions } from './options.js';
import { publishMany } from './publish-many.js';
import { send } from './request.js';
import { signToken, type TokenOptions } from './tokens.js';

/** What every call that sends a request takes. */
export interface CallOptions {
  /**
   * Aborting it cancels the request under way and every retry: the call rejects with a
   * `HeraldAbortError` (`name` `'AbortError'`, `code` `'aborted'`; inside a `PublishManyError` for
   * `publishMany`).
   */
  readonly signal?: AbortSignal | undefined;
}

/** Options of {@link BackendClient.publish}. */
export interface BackendPublishOptions extends CallOptions {
  /**
   * The publish's idempotency key (1–128 printable ASCII characters): a publish repeated with it on the
   * same channel within the hub's `idempotencyTtl` stores nothing. @default a new `crypto.randomUUID()`
   * per call, reused by that call's retries
   */
  readonly idempotencyKey?: string | undefined;
}

/** Options of {@link BackendClient.history} and {@link BackendClient.historyPages}. */
export interface HistoryOptions extends CallOptions {
  /** A cursor from an earlier page (or any transport), or `'now'`. @default from the oldest retained message */
  readonly since?: string | undefined;
  /** Most messages per channel in one page (1–1000). @default the hub's, 1000 */
  readonly limit?: number | undefined;
}

/** One answer of `GET /api/history`. */
export interface HistoryPage<T = unknown> {
  /** Oldest first within each channel. */
  readonly messages: Envelope<T>[];
  /** Pass it as `since` to read on from here. */
  readonly cursor: string;
  /** Present when a `since` position could not be resumed from. */
  readonly gaps?: Gap[];
  /** True when the page was cut short (`limit` or the hub's answer size): read again from `cursor`. */
  readonly more: boolean;
}

/** Options of {@link BackendClient.acks}. */
export interface AcksOptions extends CallOptions {
  /** Only this user's position. */
  readonly user?: string | undefined;
  /** At most this many positions (1–5000), most recently acknowledged first. @default the hub's, 500 */
  readonly limit?: number | undefined;
}

/** What `POST /api/disconnect` ended. */
export interface DisconnectResult {
  /** Connections ended on the node that answered. */
  readonly disconnected: number;
  /** `'all'` on a multi-node engine: every other node was asked to end theirs too. */
  readonly nodes?: 'all';
}

/** A ticket from `POST /api/ticket`: pass it as `?ticket=` once. */
export interface Ticket {
  readonly ticket: string;
  /** Seconds it stays valid. */
  readonly expiresIn: number;
}

/** A typed client of one hub's HTTP API; see {@link createBackendClient}. */
export interface BackendClient {
  /**
   * Publishes one message; resolves with its position once the hub stored it (`duplicate: true` for a
   * repeated key). `data` is serialised before anything is sent: data `JSON.stringify` refuses
   * (a BigInt, a cycle) throws its `TypeError` at once. A failure after the retries rejects with an
   * error whose `idempotencyKey` is the key sent: publish again with it to store the message once.
   */
  publish(channel: string, data: unknown, options?: BackendPublishOptions): Promise<PublishResult>;
  /**
   * Publishes many messages in batches of at most `batchSize` messages and `maxBatchBytes` bytes, one
   * batch after another, and resolves with one result per message in the order given: a position,
   * or `{index, error}` for a message the hub refused for good (1xxx, 2xxx; `index` into
   * `messages`). A message without a key gets a random one, made before the first request. A batch
   * that fails as a whole, and its messages the hub answered with a temporary error (3xxx), are sent
   * again with the same keys within `retries`. When a batch cannot be finished, rejects with a
   * `PublishManyError`: its `results` so far and its `pending` messages with their keys, which
   * `publishMany(error.pending)` sends again without storing any twice. Every message is serialised
   * first: bad data throws a `TypeError` before any request.
   */
  publishMany(messages: readonly BatchMessage[], options?: CallOptions): Promise<BatchEntryResult[]>;
  /** One page of history of one or more channels (`GET /api/history`). */
  history<T = unknown>(channels: string | readonly string[], options?: HistoryOptions): Promise<HistoryPage<T>>;
  /** Every page from `since` to the end of the log, one request per page, following `cursor` while `more`. */
  historyPages<T = unknown>(
    channels: string | readonly string[],
    options?: HistoryOptions,
  ): AsyncGenerator<HistoryPage<T>, void, undefined>;
  /** The channel's presence members on every node. */
  presence(channel: string, options?: CallOptions): Promise<PresenceResult>;
  /**
   * The users' acknowledged positions on `channel` (`GET /api/acks`; needs the API key), most
   * recently acknowledged first: what each user's client acknowledged with the `ack` option of
   * `@herald/client`. Positions of every node (the engine keeps them).
   */
  acks(channel: string, options?: AcksOptions): Promise<AcksResult>;
  /** Ends the connections of a user and/or a session id on every node (needs the API key). */
  disconnect(
    target: { readonly user?: string | undefined; readonly client?: string | undefined },
    options?: CallOptions,
  ): Promise<DisconnectResult>;
  /** Signs a token for a client with the configured `token` key (locally, no request). */
  createToken(options: TokenOptions): Promise<string>;
  /**
   * A single-use ticket for a client (`POST /api/ticket`): for a token minted from `from` with the
   * `token` key, or for the token given as `{token}`. The ticket carries the token's user and grants.
   */
  createTicket(from: TokenOptions | { readonly token: string }, options?: CallOptions): Promise<Ticket>;
}

function channelQuery(channels: string | readonly string[]): [string, string][] {
  return (typeof channels === 'string' ? [channels] : channels).map((c) => ['channel', c]);
}

class HttpBackendClient implements BackendClient {
  readonly #options: ResolvedOptions;

  constructor(options: ResolvedOptions) {
    this.#options = options;
  }

  async publish(channel: string, data: unknown, options: BackendPublishOptions = {}): Promise<PublishResult> {
    const idempotencyKey = options.idempotencyKey ?? crypto.randomUUID();
    const body = JSON.stringify({ channel, data, idempotencyKey });
    return (await send(this.#options, {
      method: 'POST',
      path: 'api/publish',
      body,
      signal: options.signal,
      idempotencyKey,
    })) as PublishResult;
  }

  publishMany(messages: readonly BatchMessage[], options: CallOptions = {}): Promise<BatchEntryResult[]> {
    return publishMany(this.#options, messages, options.signal);
  }

  async history<T = unknown>(channels: string | readonly string[], options: HistoryOptions = {}): Promise<HistoryPage<T>> {
    const query = channelQuery(channels);
    if (options.since !== undefined) query.push(['since', options.since]);
    if (options.limit !== undefined) query.push(['limit', String(options.limit)]);
    const page = (await send(this.#options, { method: 'GET', path: 'api/history', query, signal: options.signal })) as Omit<
      HistoryPage<T>,
      'more'
    > & {
      more?: boolean;
    };
    return { ...page, more: page.more === true };
  }

  async *historyPages<T = unknown>(
    channels: string | readonly string[],
    options: HistoryOptions = {},
  ): AsyncGenerator<HistoryPage<T>, void, undefined> {
    let since = options.since;
    for (;;) {
      const page = await this.history<T>(channels, { ...options, since });
      yield page;
      if (!page.more) return;
      since = page.cursor;
    }
  }

  async presence(channel: string, options: CallOptions = {}): Promise<PresenceResult> {
    const query: [string, string][] = [['channel', channel]];
    return (await send(this.#options, { method: 'GET', path: 'api/presence', query, signal: options.signal })) as PresenceResult;
  }

  async acks(channel: string, options: AcksOptions = {}): Promise<AcksResult> {
    const query: [string, string][] = [['channel', channel]];
    if (options.user !== undefined) query.push(['user', options.user]);
    if (options.limit !== undefined) query.push(['limit', String(options.limit)]);
    return (await send(this.#options, { method: 'GET', path: 'api/acks', query, signal: options.signal })) as AcksResult;
  }

  async disconnect(
    target: { readonly user?: string | undefined; readonly client?: string | undefined },
    options: CallOptions = {},
  ): Promise<DisconnectResult> {
    if (!target.user && !target.client) throw new TypeError('disconnect needs a user or a client');
    const body = { ...(target.user && { user: target.user }), ...(target.client && { client: target.client }) };
    return (await send(this.#options, {
      method: 'POST',
      path: 'api/disconnect',
      body: JSON.stringify(body),
      signal: options.signal,
    })) as DisconnectResult;
  }

  createToken(options: TokenOptions): Promise<string> {
    const signing = this.#options.token;
    if (signing === undefined)
      return Promise.reject(new TypeError('createToken needs the token option (the key the hub verifies tokens with)'));
    return signToken(signing, options, this.#options.now());
  }

  async createTicket(from: TokenOptions | { readonly token: string }, options: CallOptions = {}): Promise<Ticket> {
    const bearer = 'token' in from ? from.token : await this.createToken(from);
    // The hub refuses a ticket for the API key: the ticket belongs to the token's user.
    return (await send(this.#options, {
      method: 'POST',
      path: 'api/ticket',
      headers: { authorization: `Bearer ${bearer}` },
      apiKey: false,
      signal: options.signal,
    })) as Ticket;
  }
}

/**
 * A client of a hub's HTTP API for backends: publish (one message or batches), history, presence,
 * disconnect, tokens and tickets. It uses only `fetch` and web APIs (`crypto`, `AbortSignal`,
 * `URL`), so it runs on Node 20+, Deno, Bun, Cloudflare Workers and other edge runtimes; `fetch`
 * reuses connections (keep-alive). Network errors, timeouts, 5xx and 429 answers are retried
 * (`retries`, exponential backoff with jitter, `Retry-After` honoured); every publish carries an
 * idempotency key, so a retried publish is never stored twice, and a failed one can be sent again
 * with the key its error carries. Failures reject with `HeraldApiError` (the hub's `code` and HTTP
 * `status`), `HeraldNetworkError`, `HeraldTimeoutError`, `HeraldAbortError` (the call's `signal`),
 * `HeraldProtocolError` (a 2xx answer that is not a hub's), or for `publishMany` `PublishManyError`.
 * Bad options throw a `TypeError` or `RangeError` at once.
 */
export function createBackendClient(options: BackendClientOptions): BackendClient {
  return new HttpBackendClient(resolveOptions(options));
}
