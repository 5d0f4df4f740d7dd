/** What one reading of the hub's process shows. */
export interface BenchServerSample {
  /** CPU time the hub's process has used since it started (user + system), in ms. */
  readonly cpuMs: number;
  /** The hub process's resident set size, in bytes. */
  readonly rssBytes: number;
}

/** What the hub's process spent on one transport, between a reading before the clients connected and one after the last publish. */
export interface BenchServerCost {
  /** `process`: the bench's own process (the local hub, publisher included); `metrics`: the remote hub's `/metrics`. */
  readonly source: 'process' | 'metrics';
  readonly cpuMs: number;
  readonly cpuMsPerClient: number;
  /** RSS after minus RSS before, in bytes (may be negative after a garbage collection). */
  readonly rssDeltaBytes: number;
  readonly memoryBytesPerClient: number;
}

/** Takes one reading of the hub's process. */
export type BenchServerProbe = () => Promise<BenchServerSample>;

/** A probe of this process (`process.cpuUsage`, `process.memoryUsage.rss`): the local hub runs here. */
export function localServerProbe(): BenchServerProbe {
  return () => {
    const { user, system } = process.cpuUsage();
    return Promise.resolve({ cpuMs: (user + system) / 1000, rssBytes: process.memoryUsage.rss() });
  };
}

function metric(text: string, name: string): number {
  // prom-client's process metrics, under the hub's `herald_` prefix (or none).
  const match = new RegExp(`^(?:herald_)?${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  const value = match === null ? Number.NaN : Number(match[1]);
  if (!Number.isFinite(value)) throw new Error(`/metrics has no ${name}`);
  return value;
}

/** The reading in a Prometheus text: `process_cpu_seconds_total` and `process_resident_memory_bytes`. */
export function parseServerSample(text: string): BenchServerSample {
  return {
    cpuMs: metric(text, 'process_cpu_seconds_total') * 1000,
    rssBytes: metric(text, 'process_resident_memory_bytes'),
  };
}

/** A probe that reads `GET url/metrics` (`url` without a trailing slash, a mount path kept), with `key` as `X-Herald-Key` when given. */
export function remoteServerProbe(url: string, key: string | undefined): BenchServerProbe {
  return async () => {
    const res = await fetch(`${url}/metrics`, {
      headers: key === undefined ? {} : { 'x-herald-key': key },
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`GET /metrics: HTTP ${res.status}${key === undefined ? ' (the hub may need --key)' : ''}`);
    return parseServerSample(text);
  };
}

/** The cost between `before` and `after` for `clients` clients. */
export function benchServerCost(
  source: BenchServerCost['source'],
  before: BenchServerSample,
  after: BenchServerSample,
  clients: number,
): BenchServerCost {
  const cpuMs = Math.round(after.cpuMs - before.cpuMs);
  const rssDeltaBytes = after.rssBytes - before.rssBytes;
  return {
    source,
    cpuMs,
    cpuMsPerClient: Math.round((cpuMs / clients) * 10) / 10,
    rssDeltaBytes,
    memoryBytesPerClient: Math.round(rssDeltaBytes / clients),
  };
}
