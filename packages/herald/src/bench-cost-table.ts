import type { BenchTransportResult } from './bench-result.js';
import type { BenchServerCost } from './bench-server-cost.js';

/** The figures of one transport with what the hub's process spent on it and what connection churn did. */
export interface BenchMeasuredTransport extends BenchTransportResult {
  /** The hub's CPU and memory over this transport; null when they could not be read (a warning says why). */
  readonly server: BenchServerCost | null;
  /** Reconnects the clients made (`--churn`) and gaps the hub reported on resuming. */
  readonly churn: { readonly reconnects: number; readonly gaps: number };
}

/** The terminal table of the server cost and churn of `results`. */
export function benchCostTable(results: readonly BenchMeasuredTransport[]): string {
  const head = ['transport', 'srv CPU ms', 'CPU ms/cl', 'RSS delta KB', 'mem KB/cl', 'reconnects', 'gaps'];
  const kb = (bytes: number): string => (bytes / 1024).toFixed(1);
  const rows = results.map((r) => [
    r.transport,
    r.server === null ? '-' : String(r.server.cpuMs),
    r.server === null ? '-' : String(r.server.cpuMsPerClient),
    r.server === null ? '-' : kb(r.server.rssDeltaBytes),
    r.server === null ? '-' : kb(r.server.memoryBytesPerClient),
    String(r.churn.reconnects),
    String(r.churn.gaps),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}
