import type { BenchTransport } from './bench-profile.js';
import type { BenchClientCounts } from './bench-worker-protocol.js';

/** The figures of one transport, as `herald bench` reports them. */
export interface BenchTransportResult {
  readonly transport: BenchTransport;
  /** Delivery latency in ms (publish time in the message to receive time, one machine clock). */
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number };
  /** Bytes per client per minute on the clients' sockets, headers included. */
  readonly bytesPerClientPerMinute: { readonly serverToClient: number; readonly clientToServer: number };
  /** HTTP requests per minute, all clients together (a WebSocket upgrade counts as one). */
  readonly requestsPerMinute: number;
  readonly messages: { readonly expected: number; readonly received: number; readonly lost: number };
  /** What was counted, unscaled. */
  readonly totals: {
    readonly bytesServerToClient: number;
    readonly bytesClientToServer: number;
    readonly requests: number;
    readonly connections: number;
    readonly clientMessagesSent: number;
    readonly elapsedMs: number;
  };
}

/** The `p`-th percentile (0–100) of `sorted`, nearest rank; 0 when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits;

/** The reported figures of one transport from what the worker counted for `clients` clients. */
export function benchTransportResult(transport: BenchTransport, clients: number, counts: BenchClientCounts): BenchTransportResult {
  const sorted = [...counts.latencies].sort((a, b) => a - b);
  // The reported elapsed time is the one the per-minute figures are computed from.
  const elapsedMs = Math.round(counts.elapsedMs);
  const minutes = elapsedMs / 60_000;
  return {
    transport,
    latencyMs: { p50: round(percentile(sorted, 50), 1), p95: round(percentile(sorted, 95), 1), p99: round(percentile(sorted, 99), 1) },
    bytesPerClientPerMinute: {
      serverToClient: Math.round(counts.bytesIn / clients / minutes),
      clientToServer: Math.round(counts.bytesOut / clients / minutes),
    },
    requestsPerMinute: Math.round(counts.requests / minutes),
    messages: { expected: counts.expected, received: counts.received, lost: counts.expected - counts.received },
    totals: {
      bytesServerToClient: counts.bytesIn,
      bytesClientToServer: counts.bytesOut,
      requests: counts.requests,
      connections: counts.connections,
      clientMessagesSent: counts.upstream,
      elapsedMs,
    },
  };
}
