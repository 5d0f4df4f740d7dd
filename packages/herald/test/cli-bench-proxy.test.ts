import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { readBenchReport } from './bench-report.js';
import { killAll, runCli, startCli, tempDir } from './cli-process.js';

/** A small workload: 4 clients on 2 channels for 1 s. */
const SMALL = ['--clients', '4', '--channels', '2', '--publish-rate', '5', '--duration', '1'];

describe('herald bench --proxy (a real nginx between the clients and the hub)', () => {
  afterEach(killAll);

  it('nginx configured as the docs recommend passes all four transports, nothing lost', async () => {
    const json = join(tempDir(), 'bench.json');
    const result = await runCli(['bench', '--preset', 'chat', ...SMALL, '--proxy', 'nginx', '--json', json]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^through nginx configured as docs\/operations\.md recommends/);
    const report = readBenchReport(json);
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
    const report = readBenchReport(json);
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
    const report = readBenchReport(json);
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

  it('Ctrl-C in the middle of a run stops nginx and removes its directory', async () => {
    const bench = startCli(['bench', '--preset', 'chat', ...SMALL, '--duration', '5', '--proxy', 'nginx']);
    await bench.waitFor(/websocket: publishing/, 'stderr');
    // The nginx of this run: the bench's child, with its directory in its command line.
    const line = execFileSync('pgrep', ['-a', '-P', String(bench.child.pid), 'nginx'], { encoding: 'utf8' }).trim();
    const pid = Number(line.split(' ')[0]);
    const dir = /-p (\S+)/.exec(line)?.[1];
    expect(dir, line).toBeDefined();
    expect(existsSync(dir!)).toBe(true);
    bench.child.kill('SIGINT');
    expect(await bench.exited).toBe(130);
    expect(bench.stderr()).toContain('herald bench: stopped (SIGINT)');
    expect(existsSync(dir!)).toBe(false);
    // SIGTERM was sent as the bench exited; nginx (its workers with it) is gone moments later.
    await eventually(
      () => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      },
      (alive) => !alive,
      `nginx ${pid} to stop`,
    );
  }, 30_000);

  it('says at once when the hub cannot be reached, or when the workload would publish nothing', async () => {
    const unreachable = await runCli(['bench', '--url', 'http://127.0.0.1:9', '--proxy', 'nginx']);
    expect(unreachable.status).toBe(1);
    expect(unreachable.stderr).toMatch(/^herald: cannot reach the hub at http:\/\/127\.0\.0\.1:9: /);
    expect(await runCli(['bench', '--preset', 'notifications', '--duration', '1'])).toEqual({
      status: 1,
      stdout: '',
      stderr:
        'herald: this workload publishes no message: 0.4 msg/s per channel for 1 s; raise --duration or --publish-rate so that their product is at least 1\n',
    });
  });

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
