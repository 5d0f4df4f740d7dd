import type { Duplex } from 'node:stream';
import type { PresenceMember, Position } from '@herald/protocol';
import type { Clock } from '../clock.js';
import { eventData } from '../doors/door-event.js';
import { mappedChannel } from '../doors/escaped-channel.js';
import type { Hub } from '../hub/hub.js';
import type { Logger } from '../logger.js';
import type { ConnectionSlot } from '../transport/connection-limiter.js';
import { Outbox, type OutboxOwner } from '../transport/outbox.js';
import { RateLimiter } from '../transport/rate-limiter.js';
import type { SessionSocket, SocketEvents } from '../transport/session-socket.js';
import type { ConnectionInfo } from '../transport/transport.js';
import { authMatches, channelAuth, userAuth } from './pusher-auth-signature.js';
import { channelKind, channelNameError, USER_CHANNEL_PREFIX } from './pusher-channel-name.js';
import { MAX_CLIENT_EVENT_BYTES, PusherCode, utf8Prefix } from './pusher-close-codes.js';
import { DELIVERY_KEY, pusherDelivery } from './pusher-delivery.js';
import type { PusherApp } from './pusher-door-options.js';
import { pusherErrorFrame, pusherFrame } from './pusher-frame.js';
import { PusherSubscription, type FrameSink } from './pusher-subscription.js';

/** What every Pusher connection of a transport shares. */
export interface PusherContext {
  readonly hub: Hub;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Seconds, sent in `pusher:connection_established`. */
  readonly activityTimeout: number;
  readonly maxChannels: number;
  readonly sendQueueBytes: number;
  /** The open connections; a connection removes itself when it closes. */
  readonly connections: Set<PusherConnection>;
  /** The frame rate limit of every connection (Herald's `commandsPerSecond`/`commandBurst`; one bucket per connection). */
  readonly frames: RateLimiter;
  /** `commandsPerSecond`, for the refusal's message. */
  readonly framesPerSecond: number;
  /** Each app's client event rate (one bucket per connection). */
  readonly clientEvents: ReadonlyMap<string, RateLimiter>;
  /** Told when a connection is dropped as a slow consumer. */
  readonly slowConsumer: () => void;
}

/** Milliseconds a connection closed by the server has to finish the close handshake. */
const CLOSE_TIMEOUT = 1000;

/** Frames refused by the rate limit in a row before the connection is closed (as Herald's `/ws`). */
const RATE_LIMIT_STRIKES = 50;

const now = (): number => performance.now();

interface IncomingEvent {
  readonly event: string;
  readonly data?: unknown;
  readonly channel?: unknown;
}

/**
 * One Pusher protocol 7 connection at `/app/{key}`: `pusher:connection_established`, ping and pong,
 * subscribe and unsubscribe (public, private, presence, cache, encrypted, the signed-in user's
 * channel), `pusher:signin` and client events, with one bounded send queue.
 */
export class PusherConnection implements SocketEvents, OutboxOwner, FrameSink {
  /** The Pusher `socket_id`, also the Herald session id. */
  readonly socketId: string;
  readonly app: PusherApp;
  /** When it opened, in milliseconds since the Unix epoch (the context's clock). */
  readonly since: number;
  /** When a frame last came (performance.now()). */
  lastSeen = now();
  /** When the server's `pusher:ping` was sent and not yet answered by any frame. */
  pingSent: number | undefined;
  readonly #ws: SessionSocket;
  readonly #context: PusherContext;
  readonly #outbox: Outbox;
  readonly #slot: ConnectionSlot;
  readonly #channels = new Map<string, PusherSubscription>();
  /** Per channel name, the end of its queue of subscribes and unsubscribes (see {@link PusherConnection.#inOrder}). */
  readonly #pending = new Map<string, Promise<void>>();
  /** The socket closed. */
  #ended = false;
  #user: string | null = null;
  #clientEvents = RateLimiter.FULL;
  /** The connection's frame bucket (see {@link RateLimiter.take}). */
  #frames = RateLimiter.FULL;
  /** Frames refused by the rate limit in a row. */
  #strikes = 0;

  constructor(ws: SessionSocket, socket: Duplex, context: PusherContext, app: PusherApp, slot: ConnectionSlot, socketId: string) {
    this.socketId = socketId;
    this.app = app;
    this.#ws = ws;
    this.#context = context;
    this.#slot = slot;
    this.since = context.clock.now();
    this.#outbox = new Outbox(socket, context.sendQueueBytes, this);
    ws.events = this;
    this.push(
      pusherFrame('pusher:connection_established', JSON.stringify({ socket_id: socketId, activity_timeout: context.activityTimeout })),
    );
  }

  /** The user of `pusher:signin`, or null. */
  get user(): string | null {
    return this.#user;
  }

  /** Whether the connection is open (not closing or closed). */
  get open(): boolean {
    return this.#ws.readyState === this.#ws.OPEN;
  }

  /** The connection as the admin API lists it (channels are the Herald channels). */
  describe(): ConnectionInfo {
    const socket = this.#outbox.sink as { remoteAddress?: string };
    return {
      id: this.socketId,
      transport: 'pusher',
      user: this.#user,
      ip: socket.remoteAddress ?? null,
      channels: [...this.#channels.values()].map((s) => s.channel),
      since: this.since,
    };
  }

  push(frame: Buffer): void {
    this.#outbox.push(frame);
  }

  /** Sends what is queued, then the close frame; the socket is dropped if the peer does not answer in time. */
  close(code: number, reason: string): void {
    if (!this.open) return;
    this.#outbox.flush();
    this.#outbox.close();
    this.#ws.close(code, utf8Prefix(reason));
    setTimeout(() => this.#ws.terminate(), CLOSE_TIMEOUT).unref();
  }

  /** Drops the connection without a close handshake. */
  terminate(): void {
    this.#outbox.close();
    this.#ws.terminate();
  }

  /** The server's keepalive: `pusher:ping` after `activityTimeout` of silence; 4201 when nothing answers in `pongTimeout`. */
  keepAlive(at: number, activityMs: number, pongMs: number): void {
    if (this.pingSent !== undefined) {
      if (at - this.pingSent >= pongMs) this.close(PusherCode.PongTimeout, 'Pong reply not received');
    } else if (at - this.lastSeen >= activityMs) {
      this.pingSent = at;
      this.push(pusherFrame('pusher:ping', '{}'));
    }
  }

  /** @internal */
  overflow(): void {
    this.#context.logger.warn({ client: this.socketId }, 'pusher slow consumer disconnected');
    this.#context.slowConsumer();
    this.#ws.close(PusherCode.OverCapacity, 'slow consumer: reconnect later');
    setTimeout(() => this.#ws.terminate(), CLOSE_TIMEOUT).unref();
  }

  /** @internal */
  receiveFrame(data: Buffer, isBinary: boolean): void {
    if (!this.open) return;
    this.lastSeen = now();
    this.pingSent = undefined;
    // Every frame counts, pings and garbage too (a flood is a flood); a client within the limit is never refused.
    const frames = this.#context.frames.take(this.#frames);
    if (frames === undefined) {
      if (++this.#strikes >= RATE_LIMIT_STRIKES) {
        this.#context.logger.warn({ client: this.socketId }, 'pusher frame flood: connection closed');
        this.close(PusherCode.OverCapacity, 'too many frames: reconnect later');
        // Stop reading the flood.
        this.#ws.pause();
        return;
      }
      return this.push(
        pusherErrorFrame(PusherCode.RateLimited, `Rate limited: at most ${this.#context.framesPerSecond} frames per second`),
      );
    }
    this.#frames = frames;
    this.#strikes = 0;
    let message: IncomingEvent;
    try {
      if (isBinary) throw new Error('binary');
      const parsed = JSON.parse(data.toString('utf8')) as unknown;
      if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { event?: unknown }).event !== 'string')
        throw new Error('not an event');
      message = parsed as IncomingEvent;
    } catch {
      return this.push(pusherErrorFrame(null, 'a frame must be a JSON object with a string "event"'));
    }
    this.#handle(message).catch((error: unknown) => {
      this.#context.logger.error({ err: error, client: this.socketId }, 'pusher event failed');
    });
  }

  /** @internal */
  ponged(): void {
    this.lastSeen = now();
    this.pingSent = undefined;
  }

  /** @internal */
  closed(): void {
    this.#ended = true;
    this.#context.connections.delete(this);
    this.#slot.release();
    this.#outbox.close();
    for (const subscription of this.#channels.values()) this.#cancel(subscription);
    this.#channels.clear();
  }

  /** @internal */
  failed(error: Error): void {
    this.#context.logger.debug({ err: error, client: this.socketId }, 'pusher websocket error');
  }

  async #handle(message: IncomingEvent): Promise<void> {
    const { event } = message;
    const data = parseData(message.data);
    switch (event) {
      case 'pusher:ping':
        return this.push(pusherFrame('pusher:pong', '{}'));
      case 'pusher:pong':
        return;
      case 'pusher:subscribe':
        return this.#inOrder(data.channel, () => this.#subscribe(data));
      case 'pusher:unsubscribe':
        return this.#inOrder(data.channel, () => {
          this.#unsubscribe(data);
          return Promise.resolve();
        });
      case 'pusher:signin':
        return this.#signin(data);
      default:
        if (event.startsWith('client-')) return this.#clientEvent(event, message.channel, message.data);
        return this.push(pusherErrorFrame(null, `unknown event ${JSON.stringify(event).slice(0, 200)}`));
    }
  }

  /**
   * Runs the subscribes and unsubscribes of one channel name one after the other, in the order their
   * frames came: a subscribe, unsubscribe and subscribe in one burst end subscribed (a presence
   * member too), never with an earlier operation's late outcome undoing a later one.
   */
  #inOrder(name: unknown, run: () => Promise<void>): Promise<void> {
    if (typeof name !== 'string') return run();
    const previous = this.#pending.get(name);
    const result = previous === undefined ? run() : previous.then(run);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.#pending.set(name, settled);
    void settled.then(() => {
      if (this.#pending.get(name) === settled) this.#pending.delete(name);
    });
    return result;
  }

  #subscriptionError(channel: string, type: string, error: string, status: number): void {
    this.push(pusherFrame('pusher:subscription_error', { type, error, status }, channel));
  }

  async #subscribe(data: Record<string, unknown>): Promise<void> {
    // Queued behind an operation on the same channel while the connection closed: nothing to do.
    if (this.#ended) return;
    const name = data.channel;
    const invalid = channelNameError(name);
    if (invalid !== undefined) {
      if (typeof name === 'string' && name !== '') this.#subscriptionError(name.slice(0, 200), 'InvalidChannel', invalid, 400);
      else this.push(pusherErrorFrame(null, invalid));
      return;
    }
    const channelName = name as string;
    if (this.#channels.has(channelName)) return;
    if (this.#channels.size >= this.#context.maxChannels)
      return this.#subscriptionError(channelName, 'LimitReached', `at most ${this.#context.maxChannels} channels per connection`, 400);
    const kind = channelKind(channelName);
    let user = this.#user;
    let info: unknown;
    if (kind.user) {
      if (this.#user === null || channelName !== USER_CHANNEL_PREFIX + this.#user)
        return this.#subscriptionError(channelName, 'AuthError', 'only the connection signed in as this user may subscribe', 403);
    } else if (kind.private || kind.presence) {
      const given = data.channel_data;
      if (kind.presence && typeof given !== 'string')
        return this.#subscriptionError(channelName, 'AuthError', 'a presence channel needs channel_data', 400);
      const channelData = kind.presence ? (given as string) : undefined;
      const { key, secret } = this.app;
      if (!authMatches(channelAuth(key, secret, this.socketId, channelName, channelData), data.auth)) {
        const signed = channelData === undefined ? `${this.socketId}:${channelName}` : `${this.socketId}:${channelName}:${channelData}`;
        return this.#subscriptionError(
          channelName,
          'AuthError',
          `Invalid signature: expected HMAC SHA256 hex digest of ${signed}, as ${key}:<signature>`,
          401,
        );
      }
      if (channelData !== undefined) {
        const member = presenceData(channelData);
        if (member === undefined)
          return this.#subscriptionError(channelName, 'AuthError', 'channel_data must be JSON with a user_id string or number', 400);
        user = member.user;
        info = member.info;
      }
    }
    const mapped = mappedChannel(`${this.app.id}:`, channelName);
    if ('error' in mapped) return this.#subscriptionError(channelName, 'InvalidChannel', mapped.error, 400);
    const subscription = new PusherSubscription(this, this.socketId, user, channelName, mapped.channel, kind.presence);
    this.#channels.set(channelName, subscription);
    const { hub } = this.#context;
    let outcome;
    try {
      outcome = await hub.subscribe(subscription, mapped.channel, kind.presence ? { joinLeave: true, info } : {});
    } catch (error) {
      if (this.#channels.get(channelName) === subscription) this.#channels.delete(channelName);
      if (!subscription.cancelled) this.#subscriptionError(channelName, 'Unavailable', errorMessage(error), 503);
      return;
    }
    if (subscription.cancelled) return hub.unsubscribe(outcome.subscription);
    subscription.subscription = outcome.subscription;
    outcome.start();
    let members: PresenceMember[] | undefined;
    let first: Buffer | undefined;
    try {
      if (kind.presence) members = await hub.presence(mapped.channel);
      if (kind.cache) first = await this.#cached(subscription, outcome.position);
    } catch (error) {
      this.#context.logger.warn({ err: error, channel: mapped.channel }, 'pusher subscribe: presence or cache read failed');
    }
    if (subscription.cancelled) return;
    subscription.succeeded(members, first);
  }

  /** A cache channel's last event (the message at the subscription's start), or `pusher:cache_miss`. */
  async #cached(subscription: PusherSubscription, position: Position): Promise<Buffer> {
    const miss = pusherFrame('pusher:cache_miss', undefined, subscription.name);
    if (position.offset === 0) return miss;
    const read = await this.#context.hub.read(subscription.channel, { epoch: position.epoch, offset: position.offset - 1 }, 1);
    const last = read.messages.find((m) => m.epoch === position.epoch && m.offset === position.offset);
    return (last === undefined ? undefined : last.encoded(DELIVERY_KEY, (m) => pusherDelivery(m, subscription.name)).frame) ?? miss;
  }

  #unsubscribe(data: Record<string, unknown>): void {
    const name = data.channel;
    if (typeof name !== 'string') return;
    const subscription = this.#channels.get(name);
    if (subscription === undefined) return;
    this.#channels.delete(name);
    this.#cancel(subscription);
  }

  #cancel(subscription: PusherSubscription): void {
    subscription.cancelled = true;
    if (subscription.subscription !== undefined) this.#context.hub.unsubscribe(subscription.subscription);
  }

  #signin(data: Record<string, unknown>): void {
    const { user_data: userData, auth } = data;
    const { key, secret } = this.app;
    let id: unknown;
    if (typeof userData === 'string' && authMatches(userAuth(key, secret, this.socketId, userData), auth)) {
      try {
        id = (JSON.parse(userData) as { id?: unknown }).id;
      } catch {
        id = undefined;
      }
    }
    if (typeof id !== 'string' || id === '' || (this.#user !== null && this.#user !== id)) {
      this.push(pusherErrorFrame(PusherCode.Unauthorized, 'Invalid signin: bad signature, user_data without an id, or another user'));
      return this.close(PusherCode.Unauthorized, 'invalid signin');
    }
    this.#user = id;
    this.push(pusherFrame('pusher:signin_success', JSON.stringify({ user_data: userData })));
  }

  async #clientEvent(event: string, channel: unknown, data: unknown): Promise<void> {
    const refuse = (message: string): void => this.push(pusherErrorFrame(null, message));
    if (!this.app.clientEvents) return refuse('client events are not enabled for this app');
    const subscription = typeof channel === 'string' ? this.#channels.get(channel) : undefined;
    if (subscription === undefined || subscription.subscription === undefined)
      return refuse(`client event ${event}: not subscribed to channel ${String(channel).slice(0, 200)}`);
    const kind = channelKind(subscription.name);
    if (!(kind.private || kind.presence) || kind.encrypted)
      return refuse('client events are allowed on private and presence channels only (not encrypted ones)');
    let text: string;
    try {
      text = typeof data === 'string' ? data : (JSON.stringify(data) ?? 'null');
    } catch (error) {
      // Nesting deeper than the stack (`[` × 20000 parses, but does not serialise): the client's fault.
      this.#context.logger.debug({ err: error, client: this.socketId }, 'pusher client event data not serialisable');
      return refuse('client event data is nested too deeply');
    }
    if (Buffer.byteLength(text) > MAX_CLIENT_EVENT_BYTES)
      return refuse(`client event data must be at most ${MAX_CLIENT_EVENT_BYTES} bytes`);
    const bucket = this.#context.clientEvents.get(this.app.id)?.take(this.#clientEvents);
    if (bucket === undefined)
      return this.push(
        pusherErrorFrame(PusherCode.ClientEventRateLimit, `Client event rejected: at most ${this.app.clientEventsPerSecond} per second`),
      );
    this.#clientEvents = bucket;
    const extra: Record<string, unknown> = { socket_id: this.socketId };
    if (kind.presence && subscription.user !== null) extra.user_id = subscription.user;
    try {
      await this.#context.hub.publish(subscription.channel, eventData(event, text, false, extra), {
        publisher: { client: this.socketId, user: kind.presence ? subscription.user : this.#user },
      });
    } catch (error) {
      refuse(`client event not stored: ${errorMessage(error)}`);
    }
  }
}

/** A frame's `data`: an object, or a string holding one (pusher-js sends objects; other clients strings). */
function parseData(data: unknown): Record<string, unknown> {
  let value = data;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return {};
    }
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** A presence channel's `channel_data`: its `user_id` (a string or number, as a string) and `user_info`. */
function presenceData(channelData: string): { user: string; info: unknown } | undefined {
  try {
    const { user_id: id, user_info: info } = JSON.parse(channelData) as { user_id?: unknown; user_info?: unknown };
    if ((typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id))) return { user: String(id), info };
  } catch {
    // Not JSON.
  }
  return undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : 'failed';
}
