import type { Link, Transport } from './transports/transport.js';
import type { TransportName } from './types.js';

/**
 * Holds what a transport reports while it competes with others: passed on once it wins, dropped
 * if it loses. Only the winner ever reaches the client, so two transports open at once never
 * interleave their messages.
 */
export class Gate {
  state: 'pending' | 'won' | 'lost' = 'pending';
  #held: (() => void)[] = [];

  /** Runs `report` now if this transport won, later if it wins, never if it loses. */
  pass(report: () => void): void {
    if (this.state === 'won') report();
    else if (this.state === 'pending') this.#held.push(report);
  }

  win(): void {
    this.state = 'won';
    for (const report of this.#held.splice(0)) report();
  }

  lose(): void {
    this.state = 'lost';
    this.#held = [];
  }
}

/** `link` as one competing transport sees it: its reports go through `gate`. */
export function gatedLink(link: Link, gate: Gate): Link {
  return {
    ...link,
    start: (channel, position) => gate.pass(() => link.start(channel, position)),
    message: (envelope) => gate.pass(() => link.message(envelope)),
    gap: (gap) => gate.pass(() => link.gap(gap)),
    presence: (change) => gate.pass(() => link.presence(change)),
    presenceResync: (channel) => gate.pass(() => link.presenceResync(channel)),
    refused: (channel, error) => gate.pass(() => link.refused(channel, error)),
    // Before it wins a transport reports failure by rejecting open(); after, loss is the client's business.
    lost: (code, reason) => {
      if (gate.state === 'won') link.lost(code, reason);
    },
  };
}

/** A transport that connected, with the channels it opened with. */
export interface Winner {
  readonly transport: Transport;
  readonly gate: Gate;
  readonly opened: ReadonlySet<string>;
}

/** How {@link raceTransports} builds and watches its contestants. */
export interface RaceOptions {
  readonly order: readonly TransportName[];
  readonly create: (name: TransportName, link: Link) => Transport;
  readonly link: Link;
  /** Milliseconds a transport has to prove itself before the next one starts beside it. */
  readonly fallbackDelay: number;
  /** True once the client was closed: nothing more starts, a late winner is closed. */
  readonly closed: () => boolean;
}

/**
 * Connects over the first transport of `order` that works. The next one starts as soon as the
 * current one fails, or beside it once it has not proven itself (opened and, for SSE, delivered its
 * first event) within `fallbackDelay`. The first to prove itself wins; the others are closed.
 * Resolves with the winner (not yet passing its reports: call `gate.win()` once it is in place), or
 * with the last error when none worked.
 */
export function raceTransports(options: RaceOptions): Promise<Winner | { error: unknown }> {
  return new Promise((resolve) => {
    const running = new Set<{ transport: Transport; gate: Gate }>();
    let next = 0;
    let settled = false;
    let lastError: unknown;
    const launch = (): void => {
      if (settled || next >= options.order.length || options.closed()) return;
      const gate = new Gate();
      const transport = options.create(options.order[next++]!, gatedLink(options.link, gate));
      const contestant = { transport, gate };
      running.add(contestant);
      // Not proven in time: the next transport starts too, and the first to work wins.
      const timer = setTimeout(launch, options.fallbackDelay);
      transport.open().then(
        (opened) => {
          clearTimeout(timer);
          running.delete(contestant);
          if (settled || options.closed()) {
            gate.lose();
            transport.close();
            return;
          }
          settled = true;
          for (const other of running) {
            other.gate.lose();
            other.transport.close();
          }
          resolve({ transport, gate, opened });
        },
        (error: unknown) => {
          clearTimeout(timer);
          running.delete(contestant);
          gate.lose();
          transport.close();
          lastError = error;
          if (settled) return;
          if (next < options.order.length && !options.closed()) launch();
          else if (running.size === 0) {
            settled = true;
            resolve({ error: lastError });
          }
        },
      );
    };
    launch();
  });
}
