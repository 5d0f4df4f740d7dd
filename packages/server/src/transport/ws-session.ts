import type { Duplex } from 'node:stream';
import {
  CloseCode,
  encodePosition,
  ErrorCode,
  type CommandId,
  type CommandResult,
  type DecodedCommand,
  type Gap,
  type HistoryReplyResult,
  type Position,
  type PresenceMember,
  type ServerFrame,
  type WireError,
} from '@herald/protocol';
import type { Acks } from '../acks/acks.js';
import { HeraldError, toWireError } from '../errors.js';
import { callRpc } from '../hooks/call-rpc.js';
import { SessionHookSlots } from '../hooks/session-hook-slots.js';
import type { Hub } from '../hub/hub.js';
import type { HubMessage } from '../hub/hub-message.js';
import type { Subscriber } from '../hub/subscriber.js';
import type { Subscription } from '../hub/subscription.js';
import type { Logger } from '../logger.js';
import { idempotencyScope, type Identity } from '../auth/identity.js';
import type { Security } from '../auth/security.js';
import type { Clock } from '../clock.js';
import { HookFailure } from '../hooks/hook-caller.js';
import { EarlyRefresh } from '../hooks/early-refresh.js';
import type { ForwardedRequest } from '../hooks/proxy-hooks.js';
import { checkUnlessHooked, decidePublish, hookDecides, subscribeInfo } from '../hooks/client-decisions.js';
import type { HookContext } from '../hooks/proxy-hooks.js';
import type { ConnectionSlot } from './connection-limiter.js';
import { gapFields, signedCursor, type SignedEncodings } from './signed-json.js';
import { RateLimiter } from './rate-limiter.js';
import { refusedCommandId } from './refused-command-id.js';
import { ExpiryTimer } from './expiry-timer.js';
import { Outbox, type OutboxOwner } from './outbox.js';
import { capRead } from './read-cap.js';
import { nextSessionId } from './session-id.js';
import type { SessionSocket, SocketEvents } from './session-socket.js';
import type { ConnectionInfo } from './transport.js';
import { JSON_WIRE, type WsWire } from './ws-wire.js';
import { PERMESSAGE_DEFLATE, type SessionDeflate, type WsDeflate } from './ws-deflate.js';
import { clientPublisher, emitConnectionClosed } from '../webhooks/client-events.js';
import { closeReason } from '../webhooks/close-reason.js';

/** Limits of one WebSocket session. */
export interface WsSessionLimits {
  readonly maxChannels: number;
  readonly sendQueueBytes: number;
  /** Bytes of message JSON one `history` reply may carry (at least one message always goes). */
  readonly maxResponseBytes: number;
  /** Commands per second a session may send on average. */
  readonly commandsPerSecond: number;
  /** Commands a session may send at once. */
  readonly commandBurst: number;
}

/** What every session of a transport shares (one object, not one copy per connection). */
export interface WsContext {
  readonly hub: Hub;
  readonly limits: WsSessionLimits;
  readonly logger: Logger;
  readonly security: Security;
  /** The wall clock, for token expiry. */
  readonly clock: Clock;
  /** The open sessions; a session removes itself when it closes. */
  readonly sessions: Set<WsSession>;
  /** Counts a user's connection when a session authenticates after connecting. */
  readonly claimUser: UserClaim;
  /** Told when a session is dropped as a slow consumer. */
  readonly slowConsumer: () => void;
  /** The command rate limit of sessions not authenticated with the API key (each keeps its own bucket). */
  readonly commands: RateLimiter;
  /** The encodings of subscriptions without `history` (signed positions). */
  readonly signed: SignedEncodings;
  /** The frames of sessions that negotiated permessage-deflate; `undefined` when compression is off. */
  readonly deflate: WsDeflate | undefined;
  /** The hub's client acknowledgements (the `ack` command). */
  readonly acks?: Acks | undefined;
}

/** Takes one of a user's connection slots (released once the session ends), or says why not. */
export type UserClaim = (user: string) => ConnectionSlot | { refused: string };

/** Commands refused by the rate limit in a row before the session is closed with 4003. */
const RATE_LIMIT_STRIKES = 50;

/** Milliseconds a session closed for a command flood has to finish the close handshake (as after a ping timeout). */
const FLOOD_CLOSE_TIMEOUT = 1000;

/** A `subscribe` waiting for the hub; its {@link Subscription} takes its place once the hub answers. */
interface Pending {
  readonly channel: string;
  readonly joinLeave: boolean;
  /** Unsubscribed (or the session closed) before the hub answered. */
  cancelled: boolean;
}

/** One of the session's channels: the subscription itself once subscribed (no second object per channel). */
type Entry = Pending | Subscription;

const isPending = (entry: Entry): entry is Pending => 'cancelled' in entry;

/** Where a session came from, as far as the app's connect hook is concerned. */
export interface WsSessionOrigin {
  /** The session id the connect hook was told at the upgrade. @default a new one */
  readonly client?: string | undefined;
  /** What of the upgrade request a later `auth` sends the connect hook (a hub with a connect hook only). */
  readonly forwarded?: ForwardedRequest | undefined;
  /** How the session's frames are written and read (its subprotocol). @default plain JSON */
  readonly wire?: WsWire | undefined;
  /** The session's own compressor (context takeover); without it a deflate session uses the shared one. */
  readonly deflate?: SessionDeflate | undefined;
}

/** Milliseconds a slow consumer gets to read its close frame before the socket is destroyed. */
const SLOW_CONSUMER_CLOSE_TIMEOUT = 10_000;

/**
 * One WebSocket connection: decodes commands, answers each with a reply of the same `id`, and
 * delivers its subscriptions through one bounded, coalescing outbox written straight to the socket.
 */
export class WsSession implements Subscriber, OutboxOwner, SocketEvents {
  readonly client: string;
  /** When the session opened, in milliseconds since the Unix epoch (the context's clock). */
  readonly since: number;
  alive = true;
  readonly #ws: SessionSocket;
  readonly #context: WsContext;
  readonly #outbox: Outbox;
  /** The session's command bucket (see {@link RateLimiter.take}). */
  #commands = RateLimiter.FULL;
  readonly #slot: ConnectionSlot;
  /** The user slot taken when the session authenticated after connecting. */
  #userSlot: ConnectionSlot | undefined;
  #identity: Identity;
  // The session's channels: one entry alone (most sessions hold one channel), else a small array,
  // not a Map: a Map costs far more memory per connection than the linear search costs time (at
  // most maxChannels entries).
  #entries: Entry | Entry[] | undefined;
  #strikes = 0;
  /** At most 8 of this session's hooked commands ask the app at once (see {@link SessionHookSlots}). */
  readonly #hookSlots = new SessionHookSlots();
  #expiry: ExpiryTimer | EarlyRefresh | undefined;
  readonly #forwarded: ForwardedRequest | undefined;
  /** The `connection_closed` webhook event was emitted (when the hub began the close, or when the socket closed). */
  #reported = false;
  /** The session's frame format: JSON, `herald.compact` or `herald.msgpack`. */
  readonly #wire: WsWire;
  /** Set when the session negotiated permessage-deflate. */
  readonly #deflate: SessionDeflate | undefined;

  /** `slot` (a connection-limit slot) is released once the session has closed. */
  constructor(ws: SessionSocket, socket: Duplex, context: WsContext, identity: Identity, slot: ConnectionSlot, origin?: WsSessionOrigin) {
    this.client = origin?.client ?? nextSessionId();
    this.#forwarded = origin?.forwarded;
    this.#wire = origin?.wire ?? JSON_WIRE;
    this.#ws = ws;
    this.#context = context;
    this.#identity = identity;
    this.#slot = slot;
    this.since = context.clock.now();
    const { limits, security } = context;
    this.#outbox = new Outbox(socket, limits.sendQueueBytes, this);
    this.#deflate =
      origin?.deflate ?? (context.deflate !== undefined && ws.extensions.includes(PERMESSAGE_DEFLATE) ? context.deflate : undefined);
    if (identity.authenticated) this.#armExpiry();
    else if (security.requireAuth) {
      // No credentials at connect: the session has `authTimeout` to send `auth`.
      this.#expiry = new ExpiryTimer(context.clock, context.clock.now() + security.authTimeout, () =>
        this.close(CloseCode.Unauthorized, 'authentication required'),
      );
    }
    // The socket reports its events to the session itself: no listener or closure per connection.
    ws.events = this;
  }

  /** @internal */
  receiveFrame(data: Buffer, isBinary: boolean): void {
    this.#onFrame(data, isBinary);
  }

  /** @internal */
  ponged(): void {
    this.alive = true;
  }

  /** @internal */
  closed(code: number): void {
    this.#report(code, false);
    this.#onClose();
  }

  /** @internal */
  failed(error: Error): void {
    this.#context.logger.debug({ err: error, client: this.client }, 'websocket error');
  }

  /** The session's user id, or `null` when anonymous. */
  get user(): string | null {
    return this.#identity.user;
  }

  /** The session's identity (who it authenticated as). */
  get identity(): Identity {
    return this.#identity;
  }

  /** The session as the admin API lists it. */
  describe(): ConnectionInfo {
    const socket = this.#outbox.sink as { remoteAddress?: string };
    return {
      id: this.client,
      transport: 'websocket',
      user: this.#identity.user,
      ip: socket.remoteAddress ?? null,
      channels: this.#entryList().map((entry) => entry.channel),
      since: this.since,
    };
  }

  /** Closes the session with a close code (for example on shutdown). */
  close(code: number, reason: string): void {
    if (this.open) this.#report(code, true);
    this.#outbox.flush();
    this.#outbox.close();
    this.#ws.close(code, reason);
  }

  /** Drops the connection without a close handshake. */
  terminate(): void {
    this.#outbox.close();
    this.#ws.terminate();
  }

  /** No pong came in time: say so (a live but slow peer learns why), then drop the socket. */
  pingTimeout(): void {
    this.#report(CloseCode.PingTimeout, true);
    this.#outbox.close();
    this.#ws.close(CloseCode.PingTimeout, 'ping timeout');
    setTimeout(() => this.#ws.terminate(), 1000).unref();
  }

  /** Whether the connection is open (not closing or closed). */
  get open(): boolean {
    return this.#ws.readyState === this.#ws.OPEN;
  }

  ping(): void {
    this.alive = false;
    this.#ws.ping();
  }

  message(message: HubMessage, replay: boolean, signed: boolean, delta?: boolean): void {
    const deflate = this.#deflate;
    if (delta === true) {
      const frame = this.#wire.delta(message, signed, this.#context.signed);
      // Compressed like any other cached push frame (WsDeflate.wrap): once per frame, when large enough.
      if (frame !== undefined) return this.#outbox.push(deflate === undefined ? frame : deflate.wrap(frame), replay);
    }
    // JSON with deflate: the message's compressed frame, cached on it; other formats' text frames
    // are compressed once per frame (see WsDeflate.wrap).
    if (deflate !== undefined && this.#wire === JSON_WIRE) {
      this.#outbox.push(signed ? deflate.signedMessage(message) : deflate.message(message), replay);
      return;
    }
    const frame = this.#wire.message(message, signed, this.#context.signed);
    if (frame !== undefined) this.#outbox.push(deflate === undefined ? frame : deflate.wrap(frame), replay);
  }

  replayRoom(): boolean {
    return this.#outbox.hasRoom;
  }

  onReplayRoom(resume: () => void): void {
    this.#outbox.whenRoom(resume);
  }

  gap(gap: Gap, signed: boolean): void {
    this.#wire.told(gap.channel, gap.resumed.epoch);
    this.#send({ type: 'gap', ...gapFields(gap, signed ? this.#context.security.cursors : undefined) });
  }

  presence(type: 'join' | 'leave', channel: string, member: PresenceMember): void {
    this.#send({ type, channel, member });
  }

  #send(frame: ServerFrame): void {
    this.#outbox.push(this.#frame(this.#wire.frame(frame)));
  }

  /** `frame` as sent: compressed when the session deflates and it is large enough. */
  #frame(frame: Buffer): Buffer {
    return this.#deflate === undefined ? frame : this.#deflate.frame(frame);
  }

  #reply(id: CommandId, result: CommandResult): void {
    this.#send({ type: 'reply', id, ...result });
  }

  #replyError(id: CommandId | null, error: WireError): void {
    if (id === null) this.#send({ type: 'error', error });
    else this.#send({ type: 'reply', id, error });
  }

  #onFrame(data: Buffer, isBinary: boolean): void {
    // Once the hub has sent its close frame, the rest of what the peer sent is neither run nor answered.
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    // Every frame counts against the rate limit, valid or not: a flood of garbage is a flood. A
    // backend publishing with the API key is not limited: the limit stops one browser session from
    // monopolising the hub, it must not cap a trusted publisher at 100 messages per second.
    const commands = this.#identity.server === true ? this.#commands : this.#context.commands.take(this.#commands);
    if (commands === undefined) {
      if (++this.#strikes >= RATE_LIMIT_STRIKES) {
        this.#context.logger.warn({ client: this.client }, 'command flood: session closed');
        this.close(CloseCode.RateLimited, 'too many commands');
        // Stop reading the flood; a peer that does not answer the close frame is cut off.
        this.#ws.pause();
        setTimeout(() => this.#ws.terminate(), FLOOD_CLOSE_TIMEOUT).unref();
        return;
      }
      // Answered with the command's id when it can be read cheaply, so the caller's request settles.
      this.#replyError(refusedCommandId(data, isBinary), {
        code: ErrorCode.RateLimited,
        message: `at most ${this.#context.limits.commandsPerSecond} commands per second`,
      });
      return;
    }
    this.#commands = commands;
    this.#strikes = 0;
    const decoded = this.#wire.decode(data, isBinary);
    if (!decoded.ok) {
      this.#replyError(decoded.id, decoded.error);
      return;
    }
    const command = decoded.command;
    this.#run(command).catch((error: unknown) => {
      if (!(error instanceof HeraldError)) this.#context.logger.error({ err: error, client: this.client }, 'command failed');
      this.#replyError(command.id, toWireError(error));
    });
  }

  async #run(command: DecodedCommand): Promise<void> {
    const { security } = this.#context;
    if (command.type === 'auth' || command.type === 'refresh') return this.#authenticate(command.id, command.token, command.type);
    if (command.type === 'ping') return this.#reply(command.id, {});
    if (security.requireAuth && !this.#identity.authenticated)
      throw new HeraldError(ErrorCode.Unauthorized, 'authenticate first (auth command)');
    // Checked on every command against the current grants, so a resume is re-checked too. A
    // subscribe or publish a hook decides is asked of the app once the hub's own checks passed.
    if (command.type === 'subscribe') checkUnlessHooked(security, this.#identity, 'subscribe', command.channel);
    else if (command.type === 'history' || command.type === 'presence')
      security.permissions.check(this.#identity, command.type, command.channel);
    switch (command.type) {
      case 'publish': {
        const identity = this.#identity;
        const decide = () => decidePublish(security, identity, this.#hookContext(), command.channel, command.data);
        const decision = hookDecides(security, identity, 'publish', command.channel) ? await this.#hookSlots.run(decide) : await decide();
        this.#reply(
          command.id,
          await this.#context.hub.publish(command.channel, decision.data, {
            idempotencyKey: command.idempotencyKey,
            idempotencyScope: idempotencyScope(identity),
            publisher: clientPublisher(identity, this.client),
            // A key is bound to what the client sent, not to the app's replacement of it.
            ...(decision.replaced && { idempotencyData: command.data }),
          }),
        );
        return;
      }
      case 'subscribe': {
        // Joins and leaves name the channel's members: the same right as reading its presence.
        if (command.joinLeave === true) security.permissions.check(this.#identity, 'presence', command.channel);
        const since = security.resumeFrom(this.#identity, command.channel, command.since);
        return this.#subscribe(command.id, command.channel, since, command.joinLeave === true, command.delta === true);
      }
      case 'unsubscribe':
        return this.#unsubscribe(command.id, command.channel);
      case 'history': {
        const since = security.resumeFrom(this.#identity, command.channel, command.since);
        const whole = await this.#context.hub.read(command.channel, since, command.limit);
        // A session already cut as a slow consumer gets nothing built for it.
        if (!this.#outbox.open) return;
        const { read } = capRead(whole, this.#context.limits.maxResponseBytes, true);
        const fields: Omit<HistoryReplyResult, 'messages'> = {
          channel: command.channel,
          position: read.position,
          cursor: encodePosition(command.channel, read.position),
          ...(read.gap && { gaps: [read.gap] }),
          ...(read.more && { more: true }),
        };
        this.#outbox.push(this.#frame(this.#wire.history({ type: 'reply', id: command.id, ...fields }, read.messages)));
        return;
      }
      case 'presence':
        this.#reply(command.id, { channel: command.channel, members: await this.#context.hub.presence(command.channel) });
        return;
      case 'ack': {
        const acks = this.#context.acks;
        if (acks === undefined) throw new HeraldError(ErrorCode.UnknownCommand, 'acks are not enabled on this hub');
        const subscribed = this.#entryList().some((e) => e.channel === command.channel && !isPending(e));
        const context = { transport: 'websocket', client: this.client } as const;
        const position = { epoch: command.epoch, offset: command.offset };
        this.#reply(command.id, await acks.ack(this.#identity, command.channel, position, { context, subscribed }));
        return;
      }
      case 'rpc': {
        const context = { transport: 'websocket', client: this.client } as const;
        const identity = this.#identity;
        const call = () => callRpc(security.hooks, identity, context, command.method, command.data);
        this.#reply(command.id, { data: security.hooks === undefined ? await call() : await this.#hookSlots.run(call) });
        return;
      }
    }
  }

  async #subscribe(id: CommandId, channel: string, since: Position | undefined, joinLeave: boolean, delta: boolean): Promise<void> {
    const entries = this.#entryList();
    if (entries.some((e) => e.channel === channel)) throw new HeraldError(ErrorCode.AlreadySubscribed, `already subscribed to ${channel}`);
    if (entries.length >= this.#context.limits.maxChannels) {
      throw new HeraldError(ErrorCode.LimitExceeded, `at most ${this.#context.limits.maxChannels} channels per connection`);
    }
    const pending: Pending = { channel, joinLeave, cancelled: false };
    const held = this.#entries;
    this.#entries = held === undefined ? pending : Array.isArray(held) ? [...held, pending] : [held, pending];
    const { security } = this.#context;
    const signed = security.signsFor(this.#identity, channel);
    let outcome;
    try {
      // The subscribe hook (when one decides the channel) is asked while the entry holds the
      // channel's place, so a second subscribe to it meanwhile is refused without asking the app.
      const identity = this.#identity;
      const ask = () => subscribeInfo(security, identity, this.#hookContext(), channel);
      const info = hookDecides(security, identity, 'subscribe', channel) ? await this.#hookSlots.run(ask) : await ask();
      if (pending.cancelled) throw new HeraldError(ErrorCode.NotSubscribed, 'unsubscribed before the subscription completed');
      outcome = await this.#context.hub.subscribe(this, channel, { since, joinLeave, signed, info, delta });
    } catch (error) {
      this.#remove(pending);
      throw error;
    }
    if (pending.cancelled) {
      this.#context.hub.unsubscribe(outcome.subscription);
      throw new HeraldError(ErrorCode.NotSubscribed, 'unsubscribed before the subscription completed');
    }
    this.#replace(pending, outcome.subscription);
    const cursor = signed
      ? signedCursor(channel, outcome.position, this.#context.security.cursors)
      : encodePosition(channel, outcome.position);
    const ref = this.#wire.assign(channel, outcome.position.epoch);
    // `delta: true` tells a client that asked that this channel may send it deltas.
    this.#reply(id, {
      channel,
      position: outcome.position,
      cursor,
      ...(ref !== undefined && { ref }),
      ...(outcome.subscription.delta && { delta: true }),
    });
    outcome.start();
  }

  #unsubscribe(id: CommandId, channel: string): void {
    const entry = this.#entryList().find((e) => e.channel === channel);
    if (entry === undefined) throw new HeraldError(ErrorCode.NotSubscribed, `not subscribed to ${channel}`);
    this.#remove(entry);
    this.#cancel(entry);
    this.#reply(id, { channel });
  }

  /**
   * `auth` or `refresh`: verifies the token (or has the app's connect or refresh hook decide, see
   * {@link Security.verifyToken}) and adopts it; a refresh must keep the same user (a connection the
   * connect hook let in without a user may take one).
   */
  async #authenticate(id: CommandId, token: string, kind: 'auth' | 'refresh'): Promise<void> {
    const current = this.#identity;
    const identity = await this.#context.security.verifyToken(
      token,
      { transport: 'websocket', client: this.client },
      this.#forwarded,
      current,
      kind,
    );
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    const anonymousHooked = current.hooked === true && current.user === null;
    if (current.authenticated && !anonymousHooked && identity.user !== current.user) {
      throw new HeraldError(ErrorCode.Forbidden, 'a refresh must keep the same user');
    }
    if (current.user === null && identity.user !== null && this.#userSlot === undefined) {
      // Anonymous at connect, so not counted for any user yet: the per-user limit applies now.
      const slot = this.#context.claimUser(identity.user);
      if ('refused' in slot) throw new HeraldError(ErrorCode.RateLimited, slot.refused);
      this.#userSlot = slot;
    }
    const before = current.expiresAt;
    this.#identity = identity;
    this.#expiry?.cancel();
    this.#armExpiry(before);
    this.#reply(id, { user: identity.user, expiresAt: identity.expiresAt ?? null });
    this.#dropRevoked();
  }

  /**
   * Ends the subscriptions the session's new token no longer allows (to subscribe, or to see
   * joins and leaves when asked for), each with an `unsubscribed` push; the others sign their
   * positions from now on if the new token lost `history`, or stop if it gained it. Channels the
   * subscribe hook decides are not re-checked (the app allowed them; it is not asked again).
   */
  #dropRevoked(): void {
    const { security } = this.#context;
    const { permissions } = security;
    for (const entry of [...this.#entryList()]) {
      // A channel the subscribe hook decides keeps the app's allow: the hook is not asked again.
      const op =
        !hookDecides(security, this.#identity, 'subscribe', entry.channel) &&
        !permissions.allows(this.#identity, 'subscribe', entry.channel)
          ? 'subscribe'
          : entry.joinLeave && !permissions.allows(this.#identity, 'presence', entry.channel)
            ? 'presence'
            : undefined;
      if (op === undefined) {
        if (!isPending(entry)) entry.signed = this.#context.security.signsFor(this.#identity, entry.channel);
        continue;
      }
      this.#remove(entry);
      this.#cancel(entry);
      this.#send({
        type: 'unsubscribed',
        channel: entry.channel,
        error: denial(() => permissions.check(this.#identity, op, entry.channel)),
      });
    }
  }

  /** Who the app's hooks are asked for: this session. */
  #hookContext(): HookContext {
    return { transport: 'websocket', client: this.client };
  }

  /**
   * Closes the session when its token expires, unless a refresh comes first. A session the app's
   * hooks identified asks the refresh hook ahead of its expiry, when one is configured (see
   * {@link EarlyRefresh}): extended, it carries on with the new expiry, grants and info (a
   * subscription the new grants no longer allow ends); denied, it closes with 4100 at once; when
   * the hook could not decide before the expiry, it closes with 4100 then. `previous`: the expiry
   * the session had before a refresh; an answer that does not move it later is not refreshed again.
   */
  #armExpiry(previous?: number): void {
    const at = this.#identity.expiresAt;
    if (at === undefined) {
      this.#expiry = undefined;
      return;
    }
    const hooks = this.#context.security.hooks;
    const refreshes =
      this.#identity.hooked === true &&
      hooks !== undefined &&
      hooks.endpoint('refresh') !== false &&
      (previous === undefined || at > previous);
    const before = this.#identity;
    this.#expiry = new EarlyRefresh(this.#context.clock, at, refreshes, {
      refresh: async () => hooks?.refresh(before, { transport: 'websocket', client: this.client }),
      refreshed: (identity) => {
        // Closed meanwhile, or a client `refresh` replaced the identity: that decision stands.
        if (!this.open || this.#identity !== before) return;
        this.#identity = identity;
        this.#armExpiry(at);
        this.#dropRevoked();
      },
      expired: (error) => {
        if (!this.open || this.#identity !== before) return;
        const reason =
          error === undefined
            ? 'token expired'
            : error instanceof HookFailure
              ? 'token expired: the refresh hook is unavailable'
              : 'token expired: the app refused to extend it';
        this.close(CloseCode.TokenExpired, reason);
      },
    });
  }

  /** The send queue passed its limit (see {@link Outbox}). */
  overflow(): void {
    this.#context.logger.warn({ client: this.client }, 'slow consumer disconnected');
    this.#context.slowConsumer();
    this.#report(CloseCode.SlowConsumer, true);
    this.#ws.close(CloseCode.SlowConsumer, 'slow consumer');
    // The peer may not be reading at all, so its close reply may never come.
    setTimeout(() => this.#ws.terminate(), SLOW_CONSUMER_CLOSE_TIMEOUT).unref();
  }

  /** The `connection_closed` webhook event, once: `byServer` when the hub sends the close frame with `code`. */
  #report(code: number, byServer: boolean): void {
    if (this.#reported) return;
    this.#reported = true;
    emitConnectionClosed(this.#context.hub.webhooks, this.#identity, this.client, 'websocket', closeReason(code, byServer), code);
  }

  #onClose(): void {
    this.#expiry?.cancel();
    this.#hookSlots.close();
    this.#context.sessions.delete(this);
    this.#slot.release();
    this.#userSlot?.release();
    this.#outbox.close();
    this.#deflate?.close?.();
    if (this.#entries === undefined) return;
    for (const entry of this.#entryList()) this.#cancel(entry);
    this.#entries = undefined;
  }

  /** The session's entries as an array (the entries themselves when there are several). */
  #entryList(): readonly Entry[] {
    const held = this.#entries;
    return held === undefined ? [] : Array.isArray(held) ? held : [held];
  }

  /** Ends a channel of the session: its subscription, or the subscribe still waiting for the hub. */
  #cancel(entry: Entry): void {
    this.#wire.release(entry.channel);
    if (isPending(entry)) entry.cancelled = true;
    else this.#context.hub.unsubscribe(entry);
  }

  /** Puts `subscription` where `pending` was. */
  #replace(pending: Pending, subscription: Subscription): void {
    const held = this.#entries;
    if (held === pending) this.#entries = subscription;
    else if (Array.isArray(held)) this.#entries = held.map((e) => (e === pending ? subscription : e));
  }

  #remove(entry: Entry): void {
    const held = this.#entries;
    if (held === entry) this.#entries = undefined;
    else if (Array.isArray(held)) {
      const rest = held.filter((e) => e !== entry);
      this.#entries = rest.length === 1 ? rest[0] : rest;
    }
  }
}

/** The error a permission check throws, as sent on the wire. */
function denial(check: () => void): WireError {
  try {
    check();
  } catch (error) {
    return toWireError(error);
  }
  return { code: ErrorCode.Forbidden, message: 'not allowed' };
}
