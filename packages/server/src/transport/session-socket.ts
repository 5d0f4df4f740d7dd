import { WebSocket } from 'ws';

/** What a {@link SessionSocket} reports to the session that owns it. */
export interface SocketEvents {
  /** A whole message arrived (`message`). */
  receiveFrame(data: Buffer, isBinary: boolean): void;
  /** The peer answered a ping (`pong`). */
  ponged(): void;
  /** The connection is closed (`close`, once), with the peer's close code (1006: no close frame). */
  closed(code: number): void;
  /** `ws` reported an error (`error`); `close` follows. */
  failed(error: Error): void;
}

/**
 * The `ws` WebSocket class the transport upgrades connections to (`ws`'s `WebSocket` option). It
 * hands `message`, `pong`, `close` and `error` straight to its session instead of through
 * listeners: every event name a listener is registered for grows each connection's listener table
 * (four names cost about 100 B per idle connection), and an in-object `events` field is cheaper than
 * a property added to the socket afterwards. Other events (`ping`, …) are emitted as usual.
 */
export class SessionSocket extends WebSocket {
  /** Set once, right after the upgrade; `undefined` only while `ws` completes the handshake. */
  events: SocketEvents | undefined = undefined;

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    const events = this.events;
    if (events === undefined) return super.emit(event, ...args);
    switch (event) {
      case 'message':
        events.receiveFrame(args[0] as Buffer, args[1] as boolean);
        return true;
      case 'pong':
        events.ponged();
        return true;
      case 'close':
        events.closed(args[0] as number);
        return true;
      case 'error':
        events.failed(args[0] as Error);
        return true;
      default:
        return super.emit(event, ...args);
    }
  }
}
