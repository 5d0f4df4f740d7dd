import type { AckResult, CursorEntry, DeltaPush, Envelope, Gap, Position, PresenceMember, PublishResult } from '@herald/protocol';
import type { HeraldClientError } from '../errors.js';
import type { ClientState, HistoryPage, PresenceChange, Since, TransportName } from '../types.js';
import type { WireFormat } from '../wire-format.js';

/** What the client gives a transport: where to connect, the subscriptions, and where to report. */
export interface Link {
  /** Base HTTP URL of the hub, without a trailing slash. */
  readonly url: string;
  readonly WebSocket: typeof WebSocket | undefined;
  readonly EventSource: typeof EventSource | undefined;
  readonly fetch: typeof fetch;
  /** Milliseconds to wait for a connection (and for SSE's first event) before giving up on it. */
  readonly timeout: number;
  /** The frame format, when not plain JSON (see {@link WireFormat}). */
  readonly format: WireFormat | undefined;
  /** Seconds a long poll is held by the hub. */
  readonly pollWait: number;
  /**
   * What the polling transport keeps across reconnects: the hub's token for this client's polling
   * session ("new" until a poll hands one out), so a reconnect stays the same presence member.
   */
  readonly polling: { session: string };
  /** The current token, if any. */
  token(): string | undefined;
  /**
   * The channels to receive, with the position each resumes from (undefined = from now), signed
   * when the hub signed it: pass it back as it is.
   */
  channels(): Map<string, CursorEntry | undefined>;
  /**
   * Resolves once every channel's start is settled (the client pins where each subscription
   * begins): await it before reading {@link Link.channels} to open or reopen.
   */
  pinned(): Promise<void>;
  /** Sets the starting position of a channel that had none (a subscription from now). */
  start(channel: string, position: CursorEntry): void;
  /** Whether any subscription of the channel asked for join/leave events. */
  joinLeave(channel: string): boolean;
  /** Whether the client applies deltas: ask for them (WebSocket `delta: true`, SSE and polling `delta=1`). */
  readonly delta: boolean;
  /** The offset of the channel's position when the client holds that message's data (polling's `base`). */
  held(channel: string): number | undefined;
  /** A message, in full or as a delta. */
  message(envelope: Envelope | DeltaPush): void;
  gap(gap: Gap): void;
  presence(change: PresenceChange): void;
  /** Joins or leaves of the channel were lost (a poller's buffer on the hub overflowed). */
  presenceResync(channel: string): void;
  /** The hub refused a channel while the transport opened (the connection stays up). */
  refused(channel: string, error: unknown): void;
  /** The connection was lost (close code, reason); the client decides whether to reconnect. */
  lost(code: number, reason: string): void;
  /**
   * The state of a connection held elsewhere (a shared client's leader tab): `connected` or
   * `reconnecting`; with an error, it stopped for good.
   */
  status?(state: ClientState, error?: HeraldClientError): void;
}

/** One way of talking to the hub. Every transport offers every feature. */
export interface Transport {
  readonly name: TransportName;
  /**
   * Connects and starts receiving every channel of `link.channels()` as they are when it gets to
   * them; resolves with those channels (the client subscribes the others itself).
   */
  open(): Promise<ReadonlySet<string>>;
  /** Starts receiving a channel (after a gap and replay when `since` is given); resolves with its position. */
  subscribe(channel: string, since: CursorEntry | undefined): Promise<CursorEntry | undefined>;
  unsubscribe(channel: string): void;
  publish(channel: string, data: unknown, idempotencyKey?: string): Promise<PublishResult>;
  history(channel: string, since: Since | undefined, limit: number | undefined): Promise<HistoryPage<unknown>>;
  presence(channel: string): Promise<PresenceMember[]>;
  /** Acknowledges the channel's messages up to `position`; resolves with the user's acknowledged position. */
  ack(channel: string, position: Position): Promise<AckResult>;
  /** Calls `method` through the app's rpc hook; resolves with the app's `data`; `signal` abandons the call (rejects with its reason). */
  rpc(method: string, data: unknown, signal?: AbortSignal): Promise<unknown>;
  /** Hands a fresh token to a stateful session (WebSocket); HTTP transports send it with each request anyway. */
  refresh?(token: string): Promise<void>;
  close(): void;
}
