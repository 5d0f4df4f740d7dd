/** The names of the built-in transports, as `HeraldServer.stats()` and the metrics report them. */
export type TransportName = 'websocket' | 'sse' | 'polling';

/** Which connections a server-side disconnect ends: every one of a user, and/or one session id. */
export interface ConnectionMatch {
  readonly user?: string;
  readonly client?: string;
}

/** Whether a connection of `user` with session id `client` is one `match` names. */
export function matchesConnection(match: ConnectionMatch, user: string | null, client: string): boolean {
  return (match.user !== undefined && user === match.user) || (match.client !== undefined && client === match.client);
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
