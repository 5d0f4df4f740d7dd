import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readBenchReport } from './bench-report.js';
import { killAll, runCli, startCliHub, tempDir, writeConfig } from './cli-process.js';

const KEY = 'bench-remote-api-key-0123';
// The Redis npm test set up (scripts/prerequisites.mjs), else the usual one.
const REDIS = process.env['HERALD_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** A production hub with an API key and no namespace open to clients: only the key gets in. */
const PRODUCTION = { auth: { secret: 'a-secret-that-is-long-enough-for-hs256!' }, apiKeys: [KEY] };

/** A small workload: 4 clients on 2 channels, 10 messages/s per channel for 2 s, short polls every 250 ms. */
const WORKLOAD = [
  '--preset',
  'chat',
  '--clients',
  '4',
  '--channels',
  '2',
  '--publish-rate',
  '10',
  '--duration',
  '2',
  '--poll-interval',
  '250',
];

describe('herald bench --url, --churn', () => {
  afterEach(killAll);

  it('measures a remote hub on Redis with its API key: four transports, nothing lost, its CPU and memory from /metrics', async () => {
    const hub = await startCliHub(['--engine', REDIS, '--config', writeConfig(PRODUCTION)]);
    const json = join(tempDir(), 'bench.json');
    const result = await runCli(['bench', ...WORKLOAD, '--url', hub.url, '--key', KEY, '--json', json]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/\ntransport +srv CPU ms +CPU ms\/cl +RSS delta KB +mem KB\/cl +reconnects +gaps\n/);
    expect(result.stderr).not.toContain('no server CPU and memory figures');

    const report = readBenchReport(json);
    expect(report.hub).toEqual({ url: hub.url, engine: 'remote' });
    expect(report.channelPrefix).toMatch(/^bench-[A-Za-z0-9]{8}$/);
    expect(report.transports.map((r) => r.transport)).toEqual(['websocket', 'sse', 'long-polling', 'short-polling']);
    for (const r of report.transports) {
      // 10 messages/s for 2 s on each of 2 channels, 2 clients per channel.
      expect(r.messages, r.transport).toEqual({ expected: 80, received: 80, lost: 0 });
      expect(r.churn).toEqual({ reconnects: 0, gaps: 0 });
      expect(r.server?.source).toBe('metrics');
      // The hub did the work of 20 publishes and 80 deliveries at least.
      expect(r.server!.cpuMs, r.transport).toBeGreaterThan(0);
      expect(r.server!.cpuMsPerClient).toBe(Math.round((r.server!.cpuMs / 4) * 10) / 10);
      expect(r.server!.memoryBytesPerClient).toBe(Math.round(r.server!.rssDeltaBytes / 4));
    }
    // The run's messages went to the remote hub's Redis log, under the run's prefix.
    const history = await fetch(`${hub.url}/api/messages?channel=${report.channelPrefix}:sse:0`, { headers: { 'x-herald-key': KEY } });
    expect(((await history.json()) as { messages: unknown[] }).messages).toHaveLength(20);
  }, 40_000);

  it('says what is wrong when the remote hub refuses the clients, and refuses --key without --url', async () => {
    const hub = await startCliHub(['--engine', REDIS, '--config', writeConfig(PRODUCTION)]);
    const refused = await runCli(['bench', ...WORKLOAD, '--duration', '1', '--url', hub.url]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('herald: a bench client failed on every transport: websocket: subscribe refused');
    expect(await runCli(['bench', '--key', KEY])).toEqual({
      status: 1,
      stdout: '',
      stderr: 'herald: --key needs --url: the hub the bench starts has no API keys\n',
    });
  }, 20_000);

  it('with --churn, clients reconnect and resume from their cursor on every transport without losing a message', async () => {
    const json = join(tempDir(), 'bench.json');
    // 120 reconnects a minute: each client reconnects every 500 ms, 3 or 4 times in the 2 s of publishing.
    const result = await runCli(['bench', ...WORKLOAD, '--churn', '120', '--json', json]);
    expect(result.status, result.stderr).toBe(0);
    const report = readBenchReport(json);
    expect(report.churn).toBe(120);
    for (const r of report.transports) {
      expect(r.messages, r.transport).toEqual({ expected: 80, received: 80, lost: 0 });
      expect(r.churn.reconnects, r.transport).toBeGreaterThanOrEqual(4 * 3);
      expect(r.churn.gaps, r.transport).toBe(0);
      // The local hub's cost is this process's.
      expect(r.server?.source).toBe('process');
      expect(r.server!.cpuMs).toBeGreaterThan(0);
    }
    const [ws, sse] = report.transports;
    // Every reconnect is a new WebSocket (and upgrade request), a new SSE stream.
    expect(ws!.totals.connections).toBe(4 + ws!.churn.reconnects);
    expect(ws!.totals.requests).toBe(4 + ws!.churn.reconnects);
    expect(sse!.totals.requests).toBeGreaterThanOrEqual(4 + sse!.churn.reconnects);
  }, 40_000);
});
