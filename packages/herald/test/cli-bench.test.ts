import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { freePort } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import type { BenchReport } from '../src/bench-command.js';
import { readBenchReport } from './bench-report.js';
import { killAll, runCli, tempDir } from './cli-process.js';

/** What a TCP proxy between the bench's clients and the hub saw, counted independently of the bench. */
interface ProxyCounts {
  clientToServer: number;
  serverToClient: number;
  connections: number;
  requests: number;
}

/** A counting TCP proxy on port 0 in front of 127.0.0.1:`target`. */
async function countingProxy(target: number): Promise<{ server: Server; port: number; counts: ProxyCounts; sockets: Set<Socket> }> {
  const counts: ProxyCounts = { clientToServer: 0, serverToClient: 0, connections: 0, requests: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    counts.connections++;
    const upstream = createConnection({ host: '127.0.0.1', port: target });
    sockets.add(client).add(upstream);
    // Request lines are counted in the text the client sent; WebSocket frames from a client are masked.
    let tail = '';
    client.on('data', (chunk: Buffer) => {
      counts.clientToServer += chunk.length;
      const text = tail + chunk.toString('latin1');
      // A request line split between two chunks is counted once, in the chunk that completes it.
      for (const match of text.matchAll(/(?:GET|POST) \/\S* HTTP\/1\.1\r\n/g))
        if (match.index + match[0].length > tail.length) counts.requests++;
      tail = text.slice(-64);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      counts.serverToClient += chunk.length;
      client.write(chunk);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) socket.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, counts, sockets };
}

const sum = (report: BenchReport, pick: (totals: BenchReport['transports'][number]['totals']) => number): number =>
  report.transports.reduce((total, r) => total + pick(r.totals), 0);

describe('herald bench', () => {
  afterEach(killAll);

  it('runs the game preset over the four transports, counts what a proxy counts, loses nothing, and advises WebSocket', async () => {
    const hubPort = await freePort();
    const proxy = await countingProxy(hubPort);
    const json = join(tempDir(), 'bench.json');
    try {
      const result = await runCli([
        'bench',
        '--preset',
        'game',
        '--clients',
        '4',
        '--duration',
        '2',
        '--port',
        String(hubPort),
        '--client-url',
        `http://127.0.0.1:${proxy.port}`,
        '--json',
        json,
      ]);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^transport +p50 ms +p95 ms +p99 ms +down B\/cl\/min +up B\/cl\/min +req\/min +lost\n/);
      expect(result.stdout).toContain('recommendation: websocket');
      expect(result.stderr).toMatch(/herald bench: short-polling: done, p95 [\d.]+ ms, 0 lost/);

      const report = readBenchReport(json);
      expect(report.profile).toEqual({
        clients: 4,
        channels: 2,
        publishRate: 20,
        messageSize: 120,
        clientRate: 20,
        duration: 2,
        pollInterval: 1000,
      });
      expect(report.transports.map((r) => r.transport)).toEqual(['websocket', 'sse', 'long-polling', 'short-polling']);
      for (const r of report.transports) {
        // 20 messages/s for 2 s on each of 2 channels, 2 clients per channel.
        expect(r.messages, r.transport).toEqual({ expected: 160, received: 160, lost: 0 });
        expect(r.latencyMs.p50).toBeGreaterThan(0);
        expect(r.latencyMs.p50).toBeLessThanOrEqual(r.latencyMs.p95);
        expect(r.latencyMs.p95).toBeLessThanOrEqual(r.latencyMs.p99);
        expect(r.totals.clientMessagesSent).toBeGreaterThan(0);
        expect(r.bytesPerClientPerMinute.clientToServer).toBe(Math.round(r.totals.bytesClientToServer / 4 / (r.totals.elapsedMs / 60_000)));
      }
      const [ws, sse, longPoll, shortPoll] = report.transports;
      expect(ws!.totals.requests).toBe(4);
      expect(ws!.totals.connections).toBe(4);
      // Every message a client sends over HTTP is a request of its own.
      expect(sse!.totals.requests).toBe(4 + sse!.totals.clientMessagesSent);
      expect(longPoll!.totals.requests).toBeGreaterThan(4 + longPoll!.totals.clientMessagesSent);
      // Short polling delivers up to one interval late; long-polling and SSE do not.
      expect(shortPoll!.latencyMs.p95).toBeGreaterThan(sse!.latencyMs.p95);

      // The proxy saw exactly the bench's sockets: the same connections and requests, the same bytes.
      await new Promise((resolve) => setImmediate(resolve));
      expect(proxy.counts.connections).toBe(sum(report, (t) => t.connections));
      expect(proxy.counts.requests).toBe(sum(report, (t) => t.requests));
      expect(proxy.counts.clientToServer).toBe(sum(report, (t) => t.bytesClientToServer));
      const down = sum(report, (t) => t.bytesServerToClient);
      expect(Math.abs(proxy.counts.serverToClient - down) / down).toBeLessThan(0.01);

      expect(report.recommendation.transport).toBe('websocket');
      expect(report.recommendation.reasons[0]).toBe(
        'clients send 20 messages/s each (threshold 1/s): over HTTP that is 72,000 requests per client per hour, over WebSocket 72,000 frames on one connection',
      );
    } finally {
      for (const socket of proxy.sockets) socket.destroy();
      await new Promise((resolve) => proxy.server.close(resolve));
    }
  }, 45_000);

  it('advises SSE when clients only listen, with the measured figures as reasons', async () => {
    const json = join(tempDir(), 'bench.json');
    const result = await runCli([
      'bench',
      '--preset',
      'notifications',
      '--clients',
      '4',
      '--channels',
      '2',
      '--publish-rate',
      '5',
      '--duration',
      '1',
      '--json',
      json,
    ]);
    expect(result.status, result.stderr).toBe(0);
    const report = readBenchReport(json);
    expect(report.profile.clientRate).toBe(0);
    expect(report.transports.every((r) => r.messages.lost === 0 && r.totals.clientMessagesSent === 0)).toBe(true);
    expect(report.recommendation.transport).toBe('sse');
    const sse = report.transports[1]!;
    expect(report.recommendation.reasons).toContain(
      `SSE median latency ${sse.latencyMs.p50} ms, within ${Math.round(Math.max(report.transports[0]!.latencyMs.p50 * 2, report.transports[0]!.latencyMs.p50 + 50))} ms of WebSocket's ${report.transports[0]!.latencyMs.p50} ms`,
    );
  }, 30_000);

  it('refuses an unknown preset and a bad number with one line and exit 1', async () => {
    expect(await runCli(['bench', '--preset', 'chess'])).toEqual({
      status: 1,
      stdout: '',
      stderr: 'herald: --preset must be one of chat, notifications, dashboard, flash-sale, feed, game, collab, got "chess"\n',
    });
    const bad = await runCli(['bench', '--clients', '0']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(
      /^error: option '--clients <n>' argument '0' is invalid\. --clients must be an integer from 1 to 10000, got "0"\n/,
    );
  });
});
