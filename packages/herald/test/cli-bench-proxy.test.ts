import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BenchReport } from '../src/bench-command.js';
import { killAll, runCli, tempDir } from './cli-process.js';

const readReport = (file: string): BenchReport => JSON.parse(readFileSync(file, 'utf8')) as BenchReport;

/** A small workload: 4 clients on 2 channels for 1 s. */
const SMALL = ['--clients', '4', '--channels', '2', '--publish-rate', '5', '--duration', '1'];

describe('herald bench --proxy (a real nginx between the clients and the hub)', () => {
  afterEach(killAll);

  it('nginx configured as the docs recommend passes all four transports, nothing lost', async () => {
    const json = join(tempDir(), 'bench.json');
    const result = await runCli(['bench', '--preset', 'chat', ...SMALL, '--proxy', 'nginx', '--json', json]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^through nginx configured as docs\/operations\.md recommends/);
    const report = readReport(json);
    expect(report.proxy).toEqual({ kind: 'nginx', note: expect.stringContaining('upgrades passed through') as unknown });
    expect(report.failed).toEqual([]);
    expect(report.transports.map((r) => [r.transport, r.messages.lost])).toEqual([
      ['websocket', 0],
      ['sse', 0],
      ['long-polling', 0],
      ['short-polling', 0],
    ]);
    expect(report.recommendation.transport).toBe('sse');
  }, 60_000);

  it('a proxy that drops the upgrade: WebSocket does not work, so the game preset gets SSE with HTTP publishes, exit 2', async () => {
    const json = join(tempDir(), 'bench.json');
    const html = join(tempDir(), 'bench.html');
    const result = await runCli(['bench', '--preset', 'game', ...SMALL, '--proxy', 'nginx-no-upgrade', '--json', json, '--html', html]);
    expect(result.status, result.stderr).toBe(2);
    const report = readReport(json);
    expect(report.failed).toEqual([{ transport: 'websocket', reason: 'the WebSocket handshake failed: Unexpected server response: 400' }]);
    expect(report.transports.map((r) => r.transport)).toEqual(['sse', 'long-polling', 'short-polling']);
    expect(report.recommendation.transport).toBe('sse');
    expect(report.recommendation.reasons.slice(0, 3)).toEqual([
      'WebSocket did not work here: the WebSocket handshake failed: Unexpected server response: 400',
      'clients send 20 messages/s each (threshold 1/s): over HTTP that is 72,000 requests per client per hour, over WebSocket 72,000 frames on one connection',
      'WebSocket is not usable here, so each of those messages is an HTTP request; where you control the proxy, pass the upgrade through (docs/operations.md, "Behind a proxy") and measure again',
    ]);
    const sse = report.transports[0]!;
    expect(report.recommendation.reasons[3]).toBe(
      `SSE works here: ${sse.requestsPerMinute.toLocaleString('en-US')} requests/min for 4 clients, p95 latency ${sse.latencyMs.p95} ms`,
    );
    expect(result.stdout).toContain('websocket: did not work: the WebSocket handshake failed: Unexpected server response: 400\n');
    expect(result.stdout).toContain('\nrecommendation: sse\n');
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('did not work: the WebSocket handshake failed: Unexpected server response: 400');
    expect(page).toContain('nginx with a bare proxy_pass (its defaults): HTTP/1.0 to the hub, so WebSocket upgrades don&#39;t pass');
  }, 60_000);

  it('a proxy that buffers every response: SSE never subscribes, WebSocket neither, long-polling is advised', async () => {
    const json = join(tempDir(), 'bench.json');
    const result = await runCli(['bench', '--preset', 'notifications', ...SMALL, '--proxy', 'nginx-buffering', '--json', json]);
    expect(result.status, result.stderr).toBe(2);
    const report = readReport(json);
    expect(report.failed.map((f) => f.transport)).toEqual(['websocket', 'sse']);
    expect(report.failed[1]!.reason).toBe(
      '4 of 4 clients were not subscribed after 10 s (a proxy that buffers the response or holds the upgrade?)',
    );
    // The held-back SSE streams were closed: the polling runs after them lose nothing.
    expect(report.transports.map((r) => [r.transport, r.messages.lost])).toEqual([
      ['long-polling', 0],
      ['short-polling', 0],
    ]);
    expect(report.recommendation.transport).toBe('long-polling');
  }, 60_000);

  it('refuses an unknown proxy, and --proxy with --client-url', async () => {
    expect(await runCli(['bench', '--proxy', 'haproxy'])).toEqual({
      status: 1,
      stdout: '',
      stderr: 'herald: --proxy must be one of nginx, nginx-no-upgrade, nginx-buffering, got "haproxy"\n',
    });
    expect(await runCli(['bench', '--proxy', 'nginx', '--client-url', 'http://127.0.0.1:9'])).toEqual({
      status: 1,
      stdout: '',
      stderr: 'herald: --proxy and --client-url both say where the clients connect: give one\n',
    });
  });
});
