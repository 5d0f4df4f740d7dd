import { ErrorCode, type AckResult, type Position, type PresenceMember, type PublishResult } from '@herald/protocol';
import { HeraldClientError } from '../errors.js';
import type { HistoryPage, Since } from '../types.js';
import type { Link } from './transport.js';

/** Calls the hub's HTTP API; rejects with a {@link HeraldClientError} carrying the hub's code. */
export async function request<T>(link: Link, path: string, init: RequestInit = {}): Promise<T> {
  const token = link.token();
  const headers: Record<string, string> = { ...(init.body !== undefined && { 'content-type': 'application/json' }) };
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  let res: Response;
  try {
    res = await link.fetch(link.url + path, { ...init, headers });
  } catch (error) {
    // Aborted by the caller: its reason (a timeout's HeraldClientError, or the AbortError).
    if (init.signal?.aborted === true) throw init.signal.reason;
    if ((error as Error).name === 'AbortError') throw error;
    throw new HeraldClientError('network', `cannot reach the hub: ${(error as Error).message}`);
  }
  const body = (await res.json().catch(() => undefined)) as { error?: { code: number; message: string; channel?: unknown } } | undefined;
  if (init.signal?.aborted === true) throw init.signal.reason;
  if (!res.ok || body === undefined) {
    const channel = body?.error?.channel;
    throw new HeraldClientError(
      body?.error?.code ?? ErrorCode.Internal,
      body?.error?.message ?? `HTTP ${res.status}`,
      typeof channel === 'string' ? channel : undefined,
    );
  }
  return body as T;
}

/**
 * The channel a request over several channels was refused for (`2000`/`2001` naming one of
 * `asked`): the request can be made again without it. `undefined` for any other failure.
 */
export function refusedChannel(error: unknown, asked: Iterable<string>): string | undefined {
  if (!(error instanceof HeraldClientError) || (error.code !== ErrorCode.Unauthorized && error.code !== ErrorCode.Forbidden))
    return undefined;
  const channel = error.channel;
  return channel !== undefined && [...asked].includes(channel) ? channel : undefined;
}

/**
 * The `?ticket=…` parameter for a transport that cannot send headers (EventSource, browser
 * WebSocket): the token is exchanged for a short-lived, single-use ticket, never put in a URL.
 */
export async function ticketParam(link: Link): Promise<string | undefined> {
  if (link.token() === undefined) return undefined;
  return (await request<{ ticket: string }>(link, '/api/ticket', { method: 'POST' })).ticket;
}

/** `?channel=a&channel=b&…` plus extra parameters. */
export function query(channels: Iterable<string>, extra: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const channel of channels) params.append('channel', channel);
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) params.set(key, value);
  return `?${params.toString()}`;
}

/** A `since` value as a query-string cursor. */
export function sinceParam(
  channel: string,
  since: Since | undefined,
  encode: (channel: string, position: { epoch: string; offset: number }) => string,
): string | undefined {
  if (since === undefined) return undefined;
  return typeof since === 'string' ? since : encode(channel, since);
}

/** `POST /api/rpc`: the rpc over HTTP, whatever the transport (or before any connected). */
export async function rpcOverHttp(link: Link, method: string, data: unknown, signal?: AbortSignal): Promise<unknown> {
  const body = JSON.stringify({ method, ...(data !== undefined && { data }) });
  return (await request<{ data: unknown }>(link, '/api/rpc', { method: 'POST', body, ...(signal !== undefined && { signal }) })).data;
}

/** Publish, history, presence, rpc and acks over HTTP: what SSE and polling share. */
export class HttpOperations {
  readonly #link: Link;
  readonly #encode: (channel: string, position: { epoch: string; offset: number }) => string;

  constructor(link: Link, encode: (channel: string, position: { epoch: string; offset: number }) => string) {
    this.#link = link;
    this.#encode = encode;
  }

  publish(channel: string, data: unknown, idempotencyKey?: string): Promise<PublishResult> {
    return request(this.#link, '/api/publish', {
      method: 'POST',
      body: JSON.stringify({ channel, data, ...(idempotencyKey !== undefined && { idempotencyKey }) }),
    });
  }

  history(channel: string, since: Since | undefined, limit: number | undefined): Promise<HistoryPage<unknown>> {
    return request(
      this.#link,
      `/api/history${query([channel], { since: sinceParam(channel, since, this.#encode), limit: limit?.toString() })}`,
    );
  }

  async presence(channel: string): Promise<PresenceMember[]> {
    return (await request<{ members: PresenceMember[] }>(this.#link, `/api/presence${query([channel])}`)).members;
  }

  rpc(method: string, data: unknown, signal?: AbortSignal): Promise<unknown> {
    return rpcOverHttp(this.#link, method, data, signal);
  }

  /** `POST /api/ack`. */
  ack(channel: string, position: Position): Promise<AckResult> {
    return request(this.#link, '/api/ack', {
      method: 'POST',
      body: JSON.stringify({ channel, epoch: position.epoch, offset: position.offset }),
    });
  }
}
