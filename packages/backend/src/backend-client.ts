import type { BatchEntryResult, BatchMessage, Envelope, Gap, PresenceResult, PublishBatchResult, PublishResult } from '@herald/protocol';
import { resolveOptions, type BackendClientOptions, type ResolvedOptions } from './options.js';
import { send } from './request.js';
import { signToken, type TokenOptions } from './tokens.js';

/** Options of {@link BackendClient.publish}. */
export interface BackendPublishOptions {
  /**
   * The publish's idempotency key (1–128 printable ASCII characters): a publish repeated with it on the
   * same channel within the hub's `idempotencyTtl` stores nothing. @default a new `crypto.randomUUID()`
   * per call, reused by that call's retries
   */
  readonly idempotencyKey?: string | undefined;
}

/** Options of {@link BackendClient.history} and {@link BackendClient.historyPages}. */
export interface HistoryOptions {
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
  /** Publishes one message; resolves with its position once the hub stored it (`duplicate: true` for a repeated key). */
  publish(channel: string, data: unknown, options?: BackendPublishOptions): Promise<PublishResult>;
  /**
   * Publishes many messages in batches of `batchSize`, one batch after another, and resolves with one
   * result per message in the order given: a position, or `{index, error}` for a message the hub
   * refused (`index` into `messages`). A message without a key gets a random one. A batch that fails
   * as a whole (after retries) rejects; the batches before it were stored.
   */
  publishMany(messages: readonly BatchMessage[]): Promise<BatchEntryResult[]>;
  /** One page of history of one or more channels (`GET /api/history`). */
  history<T = unknown>(channels: string | readonly string[], options?: HistoryOptions): Promise<HistoryPage<T>>;
  /** Every page from `since` to the end of the log, one request per page, following `cursor` while `more`. */
  historyPages<T = unknown>(
    channels: string | readonly string[],
    options?: HistoryOptions,
  ): AsyncGenerator<HistoryPage<T>, void, undefined>;
  /** The channel's presence members on every node. */
  presence(channel: string): Promise<PresenceResult>;
  /** Ends the connections of a user and/or a session id on every node (needs the API key). */
  disconnect(target: { readonly user?: string | undefined; readonly client?: string | undefined }): Promise<DisconnectResult>;
  /** Signs a token for a client with the configured `token` key (locally, no request). */
  createToken(options: TokenOptions): Promise<string>;
  /**
   * A single-use ticket for a client (`POST /api/ticket`): for a token minted from `from` with the
   * `token` key, or for the token given as `{token}`. The ticket carries the token's user and grants.
   */
  createTicket(from: TokenOptions | { readonly token: string }): Promise<Ticket>;
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
    return (await send(this.#options, { method: 'POST', path: 'api/publish', body: { channel, data, idempotencyKey } })) as PublishResult;
  }

  async publishMany(messages: readonly BatchMessage[]): Promise<BatchEntryResult[]> {
    const results: BatchEntryResult[] = [];
    const size = this.#options.batchSize;
    for (let start = 0; start < messages.length; start += size) {
      const batch = messages.slice(start, start + size).map(({ channel, data, idempotencyKey }) => ({
        channel,
        data,
        idempotencyKey: idempotencyKey ?? crypto.randomUUID(),
      }));
      const answer = (await send(this.#options, { method: 'POST', path: 'api/publish', body: { messages: batch } })) as PublishBatchResult;
      for (const result of answer.results) results.push('error' in result ? { index: start + result.index, error: result.error } : result);
    }
    return results;
  }

  async history<T = unknown>(channels: string | readonly string[], options: HistoryOptions = {}): Promise<HistoryPage<T>> {
    const query = channelQuery(channels);
    if (options.since !== undefined) query.push(['since', options.since]);
    if (options.limit !== undefined) query.push(['limit', String(options.limit)]);
    const page = (await send(this.#options, { method: 'GET', path: 'api/history', query })) as Omit<HistoryPage<T>, 'more'> & {
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

  async presence(channel: string): Promise<PresenceResult> {
    return (await send(this.#options, { method: 'GET', path: 'api/presence', query: [['channel', channel]] })) as PresenceResult;
  }

  async disconnect(target: { readonly user?: string | undefined; readonly client?: string | undefined }): Promise<DisconnectResult> {
    if (!target.user && !target.client) throw new TypeError('disconnect needs a user or a client');
    const body = { ...(target.user && { user: target.user }), ...(target.client && { client: target.client }) };
    return (await send(this.#options, { method: 'POST', path: 'api/disconnect', body })) as DisconnectResult;
  }

  createToken(options: TokenOptions): Promise<string> {
    const signing = this.#options.token;
    if (signing === undefined)
      return Promise.reject(new TypeError('createToken needs the token option (the key the hub verifies tokens with)'));
    return signToken(signing, options, this.#options.now());
  }

  async createTicket(from: TokenOptions | { readonly token: string }): Promise<Ticket> {
    const bearer = 'token' in from ? from.token : await this.createToken(from);
    // The hub refuses a ticket for the API key: the ticket belongs to the token's user.
    return (await send(this.#options, {
      method: 'POST',
      path: 'api/ticket',
      headers: { authorization: `Bearer ${bearer}` },
      apiKey: false,
    })) as Ticket;
  }
}

/**
 * A client of a hub's HTTP API for backends: publish (one message or batches), history, presence,
 * disconnect, tokens and tickets. It uses only `fetch` and web APIs (`crypto`, `AbortSignal`,
 * `URL`), so it runs on Node 20+, Deno, Bun, Cloudflare Workers and other edge runtimes; `fetch`
 * reuses connections (keep-alive). Network errors, timeouts, 5xx and 429 answers are retried
 * (`retries`, exponential backoff with jitter, `Retry-After` honoured); every publish carries an
 * idempotency key, so a retried publish is never stored twice. Failures reject with
 * `HeraldApiError` (the hub's `code` and HTTP `status`), `HeraldNetworkError` or `HeraldTimeoutError`.
 * Bad options throw a `TypeError` or `RangeError` at once.
 */
export function createBackendClient(options: BackendClientOptions): BackendClient {
  return new HttpBackendClient(resolveOptions(options));
}
