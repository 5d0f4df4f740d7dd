import type { BenchProfile, BenchTransport } from './bench-profile.js';
import type { BenchTransportResult } from './bench-result.js';

/** A transport that could not be measured: its clients did not all subscribe. */
export interface BenchFailure {
  readonly transport: BenchTransport;
  /** What went wrong, as the clients saw it. */
  readonly reason: string;
}

/** What `herald bench` advises, and why, in numbers; `transport` is null when no transport delivered every message. */
export interface BenchRecommendation {
  readonly transport: BenchTransport | null;
  readonly reasons: string[];
}

/**
 * Client-to-server messages per second per client from which `herald bench` advises WebSocket: below
 * it, each message can be its own HTTP request beside an SSE stream.
 * @default 1
 */
export const UPSTREAM_WEBSOCKET_THRESHOLD = 1;

/**
 * How much slower than WebSocket, at the median, SSE may deliver and still be advised. The median,
 * not the p95: one pause of a shared machine moves a p95 of a few hundred messages, and must not
 * change the answer; a proxy that holds SSE back holds back most messages, which moves the median.
 * @default 2
 */
export const SSE_LATENCY_FACTOR = 2;

/** Milliseconds of median latency SSE may add over WebSocket and still be advised, whatever the factor. @default 50 */
export const SSE_LATENCY_SLACK_MS = 50;

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

const LABELS: Record<BenchTransport, string> = {
  websocket: 'WebSocket',
  sse: 'SSE',
  'long-polling': 'long-polling',
  'short-polling': 'short polling',
};

/**
 * The transport for `profile` given the measured `results` and the transports that `failed`: a
 * transport is usable when it ran and lost nothing. WebSocket when clients send at least
 * {@link UPSTREAM_WEBSOCKET_THRESHOLD} message per second, or when SSE is not usable or much slower
 * than WebSocket at the median; SSE otherwise (plain HTTP, automatic resume, no request per
 * message). When neither is usable: long-polling, then short polling.
 */
export function recommend(
  profile: BenchProfile,
  results: readonly BenchTransportResult[],
  failed: readonly BenchFailure[] = [],
): BenchRecommendation {
  const of = (transport: BenchTransport): BenchTransportResult | undefined => results.find((r) => r.transport === transport);
  const usable = (transport: BenchTransport): BenchTransportResult | undefined => {
    const result = of(transport);
    return result !== undefined && result.messages.lost === 0 ? result : undefined;
  };
  const ws = usable('websocket');
  const sse = usable('sse');
  const longPoll = usable('long-polling');
  const shortPoll = usable('short-polling');
  const reasons: string[] = [];
  for (const failure of failed) reasons.push(`${LABELS[failure.transport]} did not work here: ${failure.reason}`);
  for (const result of results)
    if (result.messages.lost > 0)
      reasons.push(`${LABELS[result.transport]} lost ${fmt(result.messages.lost)} of ${fmt(result.messages.expected)} messages`);
  const perHour = profile.clientRate * 3600;
  const delivered = profile.publishRate * 3600;
  /** The first usable of `order`, with why the ones before it were passed over already in `reasons`. */
  const fallback = (order: readonly BenchTransport[]): BenchRecommendation => {
    const transport = order.find((t) => usable(t) !== undefined) ?? null;
    if (transport === null) reasons.push('no transport delivered every message: fix what the lines above say, then measure again');
    else {
      const result = usable(transport)!;
      reasons.push(
        `${LABELS[transport]} works here: ${fmt(result.requestsPerMinute)} requests/min for ${profile.clients} clients, p95 latency ${result.latencyMs.p95} ms`,
      );
    }
    return { transport, reasons };
  };
  if (profile.clientRate >= UPSTREAM_WEBSOCKET_THRESHOLD) {
    reasons.push(
      `clients send ${profile.clientRate} messages/s each (threshold ${UPSTREAM_WEBSOCKET_THRESHOLD}/s): over HTTP that is ${fmt(perHour)} requests per client per hour, over WebSocket ${fmt(perHour)} frames on one connection`,
    );
    if (ws === undefined) {
      reasons.push(
        failed.some((f) => f.transport === 'websocket')
          ? 'WebSocket is not usable here, so each of those messages is an HTTP request; where you control the proxy, pass the upgrade through (docs/operations.md, "Behind a proxy") and measure again'
          : 'WebSocket is not usable here, so each of those messages is an HTTP request; a WebSocket that loses messages on this machine points at an overloaded hub or client: measure again with fewer clients',
      );
      return fallback(['sse', 'long-polling', 'short-polling']);
    }
    const http = sse ?? longPoll;
    if (http !== undefined)
      reasons.push(
        `measured client-to-server traffic: WebSocket ${fmt(ws.bytesPerClientPerMinute.clientToServer)} B/client/min, ${http === sse ? 'SSE' : 'long-polling'} + HTTP publish ${fmt(http.bytesPerClientPerMinute.clientToServer)} B/client/min`,
      );
    if (longPoll !== undefined)
      reasons.push(`requests per minute: WebSocket ${fmt(ws.requestsPerMinute)}, long-polling ${fmt(longPoll.requestsPerMinute)}`);
    return { transport: 'websocket', reasons };
  }
  reasons.push(
    `clients send ${profile.clientRate} messages/s each, under ${UPSTREAM_WEBSOCKET_THRESHOLD}/s: one HTTP request per message (${fmt(perHour)} per client per hour) is acceptable`,
  );
  if (sse === undefined) {
    if (ws !== undefined) {
      reasons.push(`SSE is not usable here; WebSocket delivered all ${fmt(ws.messages.expected)} messages`);
      return { transport: 'websocket', reasons };
    }
    return fallback(['long-polling', 'short-polling']);
  }
  if (ws !== undefined) {
    const bound = Math.max(ws.latencyMs.p50 * SSE_LATENCY_FACTOR, ws.latencyMs.p50 + SSE_LATENCY_SLACK_MS);
    if (sse.latencyMs.p50 > bound) {
      reasons.push(
        `SSE median latency ${sse.latencyMs.p50} ms is above ${Math.round(bound)} ms (WebSocket's median ${ws.latencyMs.p50} ms)`,
      );
      return { transport: 'websocket', reasons };
    }
    reasons.push(`SSE median latency ${sse.latencyMs.p50} ms, within ${Math.round(bound)} ms of WebSocket's ${ws.latencyMs.p50} ms`);
  }
  if (longPoll !== undefined)
    reasons.push(
      `server-to-client traffic: SSE ${fmt(sse.bytesPerClientPerMinute.serverToClient)} B/client/min, long-polling ${fmt(longPoll.bytesPerClientPerMinute.serverToClient)}${shortPoll === undefined ? '' : `, short polling ${fmt(shortPoll.bytesPerClientPerMinute.serverToClient)}`}`,
    );
  if (shortPoll !== undefined)
    reasons.push(
      `short polling every ${profile.pollInterval} ms made ${fmt(shortPoll.requestsPerMinute)} requests/min and delivered at p95 ${shortPoll.latencyMs.p95} ms; a channel gets ${fmt(delivered)} messages per hour`,
    );
  reasons.push('SSE is plain HTTP: it passes proxies that block upgrades and resumes by itself (Last-Event-ID)');
  return { transport: 'sse', reasons };
}
