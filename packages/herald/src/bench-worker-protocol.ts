import type { BenchTransport } from './bench-profile.js';

/** Tells the worker to connect its clients over one transport. */
export interface BenchRunOrder {
  readonly type: 'run';
  readonly transport: BenchTransport;
  /** The URL the clients connect to: the hub's, or a proxy's in front of it. */
  readonly url: string;
  /** The channel of each client, one entry per client. */
  readonly channels: readonly string[];
  readonly clientRate: number;
  readonly messageSize: number;
  readonly pollInterval: number;
  /** The channel clients publish their own messages to (nobody subscribes to it). */
  readonly upstreamChannel: string;
  /** An API key the clients present as `X-Herald-Key` on every connection and request (a remote hub with `--key`). */
  readonly key?: string;
  /** Reconnects per client per minute (0 = none): each client closes its connection and resumes from its cursor. */
  readonly churn: number;
  /** How long every client has to be subscribed before the run fails, in ms. */
  readonly connectTimeoutMs: number;
}

/** Tells the worker the publisher is done: `expected` is how many messages each channel got. */
export interface BenchStopOrder {
  readonly type: 'stop';
  readonly expected: Readonly<Record<string, number>>;
  /** How long to wait for messages still on their way, in ms. */
  readonly graceMs: number;
}

/** What the worker counted on its client sockets over one transport. */
export interface BenchClientCounts {
  /** Delivery latencies in ms, one per message received: receive time minus the publish time in the message. */
  readonly latencies: number[];
  readonly expected: number;
  readonly received: number;
  /** Bytes the clients' sockets read (server to client), HTTP and WebSocket headers included. */
  readonly bytesIn: number;
  /** Bytes the clients' sockets wrote (client to server), headers included. */
  readonly bytesOut: number;
  /** HTTP requests the clients made (the WebSocket upgrade counts as one). */
  readonly requests: number;
  /** TCP connections the clients opened. */
  readonly connections: number;
  /** Messages the clients sent to the hub. */
  readonly upstream: number;
  /** Reconnects the clients made (`churn`). */
  readonly reconnects: number;
  /** Gaps the hub reported to the clients: positions it could not resume from. */
  readonly gaps: number;
  /** From the first connection to the last socket closed, in ms. */
  readonly elapsedMs: number;
}

/** What the worker sends back. */
export type BenchWorkerReport =
  | { readonly type: 'ready' }
  | { readonly type: 'result'; readonly counts: BenchClientCounts }
  | { readonly type: 'failed'; readonly message: string };

/** A message's time on the machine's clock, in ms with a fraction: comparable between processes. */
export function benchNow(): number {
  return performance.timeOrigin + performance.now();
}
