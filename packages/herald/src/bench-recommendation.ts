import type { BenchProfile, BenchTransport } from './bench-profile.js';
import type { BenchTransportResult } from './bench-result.js';

/** What `herald bench` advises, and why, in numbers. */
export interface BenchRecommendation {
  readonly transport: BenchTransport;
  readonly reasons: string[];
}

/**
 * Client-to-server messages per second per client from which `herald bench` advises WebSocket: below
 * it, each message can be its own HTTP request beside an SSE stream.
 * @default 1
 */
export const UPSTREAM_WEBSOCKET_THRESHOLD = 1;

/** How much slower (p95) than WebSocket SSE may deliver and still be advised. @default 2 */
export const SSE_LATENCY_FACTOR = 2;

/** Milliseconds of p95 latency SSE may add over WebSocket and still be advised, whatever the factor. @default 50 */
export const SSE_LATENCY_SLACK_MS = 50;

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/**
 * The transport for `profile` given the measured `results`: WebSocket when clients send at least
 * {@link UPSTREAM_WEBSOCKET_THRESHOLD} message per second, or when SSE lost messages or was much
 * slower than WebSocket; SSE otherwise (plain HTTP, automatic resume, no request per message).
 */
export function recommend(profile: BenchProfile, results: readonly BenchTransportResult[]): BenchRecommendation {
  const of = (transport: BenchTransport): BenchTransportResult | undefined => results.find((r) => r.transport === transport);
  const ws = of('websocket');
  const sse = of('sse');
  const longPoll = of('long-polling');
  const shortPoll = of('short-polling');
  const reasons: string[] = [];
  const perHour = profile.clientRate * 3600;
  const delivered = profile.publishRate * 3600;
  if (profile.clientRate >= UPSTREAM_WEBSOCKET_THRESHOLD) {
    reasons.push(
      `clients send ${profile.clientRate} messages/s each (threshold ${UPSTREAM_WEBSOCKET_THRESHOLD}/s): over HTTP that is ${fmt(perHour)} requests per client per hour, over WebSocket ${fmt(perHour)} frames on one connection`,
    );
    if (ws !== undefined && sse !== undefined)
      reasons.push(
        `measured client-to-server traffic: WebSocket ${fmt(ws.bytesPerClientPerMinute.clientToServer)} B/client/min, SSE + HTTP publish ${fmt(sse.bytesPerClientPerMinute.clientToServer)} B/client/min`,
      );
    if (ws !== undefined && longPoll !== undefined)
      reasons.push(`requests per minute: WebSocket ${fmt(ws.requestsPerMinute)}, long-polling ${fmt(longPoll.requestsPerMinute)}`);
    return { transport: 'websocket', reasons };
  }
  reasons.push(
    `clients send ${profile.clientRate} messages/s each, under ${UPSTREAM_WEBSOCKET_THRESHOLD}/s: one HTTP request per message (${fmt(perHour)} per client per hour) is acceptable`,
  );
  if (ws !== undefined && sse !== undefined) {
    if (sse.messages.lost > 0) {
      reasons.push(`SSE lost ${fmt(sse.messages.lost)} of ${fmt(sse.messages.expected)} messages; WebSocket lost ${fmt(ws.messages.lost)}`);
      return { transport: 'websocket', reasons };
    }
    const bound = Math.max(ws.latencyMs.p95 * SSE_LATENCY_FACTOR, ws.latencyMs.p95 + SSE_LATENCY_SLACK_MS);
    if (sse.latencyMs.p95 > bound) {
      reasons.push(`SSE p95 latency ${sse.latencyMs.p95} ms is above ${Math.round(bound)} ms (WebSocket p95 ${ws.latencyMs.p95} ms)`);
      return { transport: 'websocket', reasons };
    }
    reasons.push(`SSE p95 latency ${sse.latencyMs.p95} ms, within ${Math.round(bound)} ms of WebSocket's ${ws.latencyMs.p95} ms`);
  }
  if (sse !== undefined && longPoll !== undefined)
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
