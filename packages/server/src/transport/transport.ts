/**
 * The names of the transports, as `HeraldServer.stats()` and the metrics report them: Herald's own
 * three, and the front doors' (`pusher`: Pusher protocol WebSockets, `mercure`: Mercure SSE
 * subscriptions) when configured.
 */
export type TransportName = 'websocket' | 'sse' | 'polling' | 'pusher' | 'mercure';

/** Open connections per transport: Herald's own three always, a front door's when it is configured. */
export type TransportCounts = Record<'websocket' | 'sse' | 'polling', number> & Partial<Record<'pusher' | 'mercure', number>>;

/** Which connections a server-side disconnect ends: every one of a user, and/or one session id. */
export interface ConnectionMatch {
  readonly user?: string;
  readonly client?: string;
}

/** Whether a connection of `user` with session id `client` is one `match` names. */
export function matchesConnection(match: ConnectionMatch, user: string | null, client: string): boolean {
  return (match.user !== undefined && user === match.user) || (match.client !== undefined && client === match.client);
}

/** One open connection as the admin API lists it (`GET /api/admin/connections`). */
export interface ConnectionInfo {
  /** The session id: what `POST /api/admin/disconnect` takes as `client`, and presence's `client`. */
  readonly id: string;
  readonly transport: TransportName;
  /** The user id, or `null` when anonymous. */
  readonly user: string | null;
  /** The peer address of the socket (a proxy's when the hub is behind one); `null` once the socket is gone. */
  readonly ip: string | null;
  /** Channels subscribed (or being subscribed), in the order asked. */
  readonly channels: readonly string[];
  /** When the connection opened, in milliseconds since the Unix epoch (the hub's clock). */
  readonly since: number;
}

/**
 * What the composition root needs from a server-side transport, whatever its wire: counting,
 * ending and shutting down its connections. How requests reach it (a route, an upgrade) is wired
 * separately (see `http/route-table.ts` and `http/upgrade.ts`).
 */
export interface Transport<Name extends string = TransportName> {
  /** The key of its count in `HeraldServer.stats()` and the `transport` label of its metrics. */
  readonly name: Name;
  /** Open connections: sessions, streams or held requests (not counting those closing). */
  readonly size: number;
  /**
   * Ends the connections `match` names, telling each client why in the transport's own way (close
   * 4502, a `disconnect` event with 2003); returns how many. A transport that keeps no connection
   * between requests returns 0.
   */
  disconnect(match: ConnectionMatch): number;
  /** Its open connections, for the admin API; a transport that keeps none between requests (polling) lists none. */
  list(): ConnectionInfo[];
  /**
   * The node stopped being ready (`HeraldServer.drain`, or the start of `close`). New WebSocket
   * upgrades and `/readyz` already answer 503 then; a transport does here whatever else its
   * clients need to move to another node in time. Connections that are open keep working.
   */
  drain(): void;
  /** Graceful stop: ends every connection in the way its clients resume from (another node). */
  close(): void;
  /** Drops every connection at once without telling the client (forced shutdown, tests of abrupt loss). */
  dropAll(): void;
}
