import type { ConnectionInfo, ConnectionMatch, Transport, TransportCounts } from './transport.js';

/**
 * The server's transports, in the order they were added: the composition root counts, disconnects,
 * drains and closes them through it instead of naming each one.
 */
export class TransportRegistry<Name extends string = string> implements Iterable<Transport<Name>> {
  readonly #transports: Transport<Name>[] = [];

  /** Adds a transport (its name must be new) and returns it. */
  add<T extends Transport<Name>>(transport: T): T {
    if (this.#transports.some((t) => t.name === transport.name)) throw new Error(`transport ${transport.name} is already registered`);
    this.#transports.push(transport);
    return transport;
  }

  [Symbol.iterator](): Iterator<Transport<Name>> {
    return this.#transports[Symbol.iterator]();
  }

  /** Open connections per transport name (Herald's own three always, 0 when not registered). */
  counts(): TransportCounts {
    const counts: Record<string, number> = { websocket: 0, sse: 0, polling: 0 };
    for (const transport of this.#transports) counts[transport.name] = transport.size;
    return counts as TransportCounts;
  }

  /** Ends the connections `match` names on every transport; returns how many in all. */
  disconnect(match: ConnectionMatch): number {
    let count = 0;
    for (const transport of this.#transports) count += transport.disconnect(match);
    return count;
  }

  /** The open connections of every transport, transport by transport. */
  list(): ConnectionInfo[] {
    return [...this.#transports].flatMap((transport) => transport.list());
  }

  /** Tells every transport that the node stopped being ready. */
  drain(): void {
    for (const transport of this.#transports) transport.drain();
  }

  /** Closes every transport, in the order they were added. */
  close(): void {
    for (const transport of this.#transports) transport.close();
  }

  /** Drops every connection of every transport abruptly. */
  dropAll(): void {
    for (const transport of this.#transports) transport.dropAll();
  }
}
