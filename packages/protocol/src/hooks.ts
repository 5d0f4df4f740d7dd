/**
 * Wire types of the app's hooks and webhooks (see `docs/hooks.md`). Proxy hooks are HTTP POSTs
 * with a JSON body from the hub to the app, answered synchronously with a {@link HookAnswer};
 * webhooks are POSTs of a {@link WebhookBatch}, answered with any 2xx. Both are signed: see
 * {@link HOOK_SIGNATURE_HEADER}.
 */

/** The header with the request's time, in whole seconds since the Unix epoch (signed with the body). */
export const HOOK_TIMESTAMP_HEADER = 'herald-timestamp';
/**
 * The header with the signatures: `v1=<hex>` per configured secret, comma-separated, where `<hex>`
 * is HMAC-SHA256(secret, `${timestamp}.${body}`) in lowercase hex.
 */
export const HOOK_SIGNATURE_HEADER = 'herald-signature';
/** Seconds either way a receiver accepts between a request's timestamp and its own clock. @default 300 */
export const HOOK_TOLERANCE_SECONDS = 300;

/** The names of the proxy hooks. */
export type HookName = 'connect' | 'subscribe' | 'publish' | 'refresh' | 'rpc';

/** How the client reached the hub: `http` for a plain API request (a client publish or rpc over HTTP). */
export type HookTransport = 'websocket' | 'sse' | 'polling' | 'http';

/** Channel grants as a connect or refresh answer may give them (the token claims' shape). */
export interface HookGrants {
  readonly subscribe?: readonly string[];
  readonly publish?: readonly string[];
  readonly history?: readonly string[];
  readonly presence?: readonly string[];
}

/** Fields of every hook request. */
export interface HookRequestBase {
  /** Unique per request (for the app's logs). */
  readonly id: string;
  readonly hook: HookName;
  /** Milliseconds since the Unix epoch, the hub's clock. */
  readonly time: number;
  readonly transport: HookTransport;
  /** The session (WebSocket, SSE stream, polling session) or request id. */
  readonly client: string;
}

/** Fields of every hook request made for a connected client. */
export interface ClientHookRequestBase extends HookRequestBase {
  /** The user the connect hook (or a token) named; `null` when anonymous. */
  readonly user: string | null;
  /** The connection info the connect (or refresh) hook answered, if any. */
  readonly info?: unknown;
}

/** `connect`: may this client connect, and who is it? */
export interface ConnectHookRequest extends HookRequestBase {
  readonly hook: 'connect';
  /** The token the client presented (Authorization bearer, cookie or `auth` command), unverified. */
  readonly token?: string;
  /** The request headers the hub is configured to forward (lowercase names). */
  readonly headers: Readonly<Record<string, string>>;
  /** The cookies the hub is configured to forward. */
  readonly cookies: Readonly<Record<string, string>>;
  /** The client's address as the hub saw it. */
  readonly remoteAddress?: string;
}

/** `subscribe`: may this client subscribe to `channel`? */
export interface SubscribeHookRequest extends ClientHookRequestBase {
  readonly hook: 'subscribe';
  readonly channel: string;
}

/** `publish`: may this client publish `data` to `channel`, and as what? */
export interface PublishHookRequest extends ClientHookRequestBase {
  readonly hook: 'publish';
  readonly channel: string;
  readonly data: unknown;
}

/** `refresh`: the connection's expiry is reached (or the client sent a new token); extend it? */
export interface RefreshHookRequest extends ClientHookRequestBase {
  readonly hook: 'refresh';
  /** The new token, when the client sent one (`refresh` command). */
  readonly token?: string;
}

/** `rpc`: the client calls `method` with `data`; the app answers with the result. */
export interface RpcHookRequest extends ClientHookRequestBase {
  readonly hook: 'rpc';
  /** `true` when a backend calls with the API key (then `user` is `null`); absent for clients. */
  readonly backend?: true;
  readonly method: string;
  readonly data: unknown;
}

/** Any hook request. */
export type HookRequest = ConnectHookRequest | SubscribeHookRequest | PublishHookRequest | RefreshHookRequest | RpcHookRequest;

/** A denial, from any hook. */
export interface HookDeny {
  readonly allow: false;
  /** Shown to the client as the error message (at most 200 characters are kept). */
  readonly reason?: string;
}

/** `connect` allowed. */
export interface ConnectHookAllow {
  readonly allow: true;
  /** The user id; absent or `null`: anonymous. */
  readonly user?: string | null;
  readonly grants?: HookGrants;
  /** Connection info: any JSON, passed back in later hook requests and presence members. */
  readonly info?: unknown;
  /** When the connection must be refreshed, in seconds since the Unix epoch; absent: never. */
  readonly expiresAt?: number;
}

/** `subscribe` allowed. */
export interface SubscribeHookAllow {
  readonly allow: true;
  /** Channel info: any JSON, shown in the client's presence member on this channel. */
  readonly info?: unknown;
}

/** `publish` allowed. */
export interface PublishHookAllow {
  readonly allow: true;
  /** When present, stored and delivered instead of the data the client sent. */
  readonly data?: unknown;
}

/** `refresh` allowed. */
export interface RefreshHookAllow {
  readonly allow: true;
  /** The new expiry (seconds since the Unix epoch); absent: never. */
  readonly expiresAt?: number;
  /** New grants, replacing the connection's. */
  readonly grants?: HookGrants;
  /** New connection info. */
  readonly info?: unknown;
}

/** `rpc` answered. */
export interface RpcHookAllow {
  readonly allow: true;
  /** The result handed to the client. */
  readonly data?: unknown;
}

/** What the app answers to each hook. */
export interface HookAnswers {
  readonly connect: ConnectHookAllow | HookDeny;
  readonly subscribe: SubscribeHookAllow | HookDeny;
  readonly publish: PublishHookAllow | HookDeny;
  readonly refresh: RefreshHookAllow | HookDeny;
  readonly rpc: RpcHookAllow | HookDeny;
}

/** The answer to any hook. */
export type HookAnswer = HookAnswers[HookName];

/** The names of the webhook events. */
export type WebhookEventType =
  'channel_occupied' | 'channel_vacated' | 'presence_join' | 'presence_leave' | 'client_publish' | 'connection_closed' | 'client_ack';

/** Fields of every webhook event. */
export interface WebhookEventBase {
  /** Unique per event: the same event sent again (a retry) has the same id. Deduplicate on it. */
  readonly id: string;
  readonly type: WebhookEventType;
  /** When it happened, milliseconds since the Unix epoch (the hub's clock). */
  readonly time: number;
}

/** A channel got its first subscriber across the hub's nodes. */
export interface ChannelOccupiedEvent extends WebhookEventBase {
  readonly type: 'channel_occupied';
  readonly channel: string;
}

/** A channel lost its last subscriber across the hub's nodes. */
export interface ChannelVacatedEvent extends WebhookEventBase {
  readonly type: 'channel_vacated';
  readonly channel: string;
}

/** A user (or an anonymous client) joined a channel: its first subscription there. */
export interface PresenceJoinEvent extends WebhookEventBase {
  readonly type: 'presence_join';
  readonly channel: string;
  /** The user id, or `null` for an anonymous client (then `client` names it). */
  readonly user: string | null;
  readonly client: string;
}

/** A user (or an anonymous client) left a channel: its last subscription there ended, and it did not come back within the debounce delay. */
export interface PresenceLeaveEvent extends WebhookEventBase {
  readonly type: 'presence_leave';
  readonly channel: string;
  readonly user: string | null;
  readonly client: string;
}

/** A client (not a backend with the API key) published. */
export interface ClientPublishEvent extends WebhookEventBase {
  readonly type: 'client_publish';
  readonly channel: string;
  readonly user: string | null;
  readonly client: string;
  /** The data as stored (after a publish hook's replacement). */
  readonly data: unknown;
  readonly epoch: string;
  readonly offset: number;
}

/** A WebSocket session or SSE stream closed. */
export interface ConnectionClosedEvent extends WebhookEventBase {
  readonly type: 'connection_closed';
  readonly client: string;
  readonly user: string | null;
  readonly transport: 'websocket' | 'sse';
  /** Why, as a stable word: `client` (the client left), `slow_consumer`, `token_expired`, `disconnected` (a backend), `shutdown`, `ping_timeout`, `protocol_violation`, `unauthorized`, `rate_limited`, `dropped` (the connection was lost). */
  readonly reason: string;
  /** The WebSocket close code, when there was one. */
  readonly code?: number;
}

/**
 * A user acknowledged a channel's messages up to `offset` of `epoch` (opt-in: only when
 * `webhooks.events` lists it). Coalesced: one event per user and channel per `ackInterval` at most,
 * with the latest position acknowledged in it.
 */
export interface ClientAckEvent extends WebhookEventBase {
  readonly type: 'client_ack';
  readonly channel: string;
  readonly user: string;
  readonly epoch: string;
  readonly offset: number;
}

/** Any webhook event. */
export type WebhookEvent =
  | ChannelOccupiedEvent
  | ChannelVacatedEvent
  | PresenceJoinEvent
  | PresenceLeaveEvent
  | ClientPublishEvent
  | ConnectionClosedEvent
  | ClientAckEvent;

/** The body of every webhook request: one or more events, oldest first. */
export interface WebhookBatch {
  readonly events: readonly WebhookEvent[];
}
