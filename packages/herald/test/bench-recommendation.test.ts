import { describe, expect, it } from 'vitest';
import { BENCH_PRESETS, type BenchTransport } from '../src/bench-profile.js';
import { recommend } from '../src/bench-recommendation.js';
import type { BenchTransportResult } from '../src/bench-result.js';

/** A measured transport with the given median and p95 latency and losses. */
function measured(transport: BenchTransport, p50: number, p95: number, lost = 0): BenchTransportResult {
  return {
    transport,
    latencyMs: { p50, p95, p99: p95 },
    bytesPerClientPerMinute: { serverToClient: 1000, clientToServer: 100 },
    requestsPerMinute: 60,
    messages: { expected: 100, received: 100 - lost, lost },
    totals: { bytesServerToClient: 0, bytesClientToServer: 0, requests: 0, connections: 0, clientMessagesSent: 0, elapsedMs: 1000 },
  };
}

const ALL = [measured('websocket', 3, 8), measured('sse', 3, 9), measured('long-polling', 6, 15), measured('short-polling', 500, 1000)];

describe('recommend', () => {
  it('follows the profile: clients that send 1/s or more get WebSocket, listeners get SSE', () => {
    expect(recommend(BENCH_PRESETS.game, ALL).transport).toBe('websocket');
    expect(recommend(BENCH_PRESETS.collab, ALL).transport).toBe('websocket');
    for (const preset of ['chat', 'notifications', 'dashboard', 'flash-sale', 'feed'] as const)
      expect(recommend(BENCH_PRESETS[preset], ALL).transport).toBe('sse');
  });

  it('is not moved by one slow p95: the latency rule reads the medians', () => {
    const spike = [measured('websocket', 3, 8), measured('sse', 3, 240), ...ALL.slice(2)];
    expect(recommend(BENCH_PRESETS.feed, spike).transport).toBe('sse');
  });

  it('advises WebSocket when SSE is held back at the median, or lost messages', () => {
    const slow = recommend(BENCH_PRESETS.dashboard, [measured('websocket', 3, 8), measured('sse', 80, 300), ...ALL.slice(2)]);
    expect(slow.transport).toBe('websocket');
    expect(slow.reasons).toContain("SSE median latency 80 ms is above 53 ms (WebSocket's median 3 ms)");
    const lossy = recommend(BENCH_PRESETS.dashboard, [measured('websocket', 3, 8), measured('sse', 3, 8, 4), ...ALL.slice(2)]);
    expect(lossy.transport).toBe('websocket');
    expect(lossy.reasons[0]).toBe('SSE lost 4 of 100 messages');
  });

  it('never advises a transport that did not work, and says why', () => {
    const noUpgrade = recommend(BENCH_PRESETS.game, ALL.slice(1), [{ transport: 'websocket', reason: 'HTTP 400' }]);
    expect(noUpgrade.transport).toBe('sse');
    expect(noUpgrade.reasons[0]).toBe('WebSocket did not work here: HTTP 400');
    const buffered = recommend(BENCH_PRESETS.chat, ALL.slice(2), [
      { transport: 'websocket', reason: 'HTTP 400' },
      { transport: 'sse', reason: 'not subscribed after 10 s' },
    ]);
    expect(buffered.transport).toBe('long-polling');
    expect(buffered.reasons.at(-1)).toBe('long-polling works here: 60 requests/min for 20 clients, p95 latency 15 ms');
    const onlyShort = recommend(BENCH_PRESETS.game, [measured('long-polling', 6, 15, 1), ALL[3]!]);
    expect(onlyShort.transport).toBe('short-polling');
  });

  it('advises nothing when every transport lost messages', () => {
    const lossy = ALL.map((r) => measured(r.transport, r.latencyMs.p50, r.latencyMs.p95, 1));
    const answer = recommend(BENCH_PRESETS.chat, lossy);
    expect(answer.transport).toBeNull();
    expect(answer.reasons.at(-1)).toBe('no transport delivered every message: fix what the lines above say, then measure again');
  });
});
