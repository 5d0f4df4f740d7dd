import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BENCH_CAVEATS } from '../src/bench-html.js';
import { readBenchReport } from './bench-report.js';
import { killAll, runCli, tempDir } from './cli-process.js';
import { launchChromium } from './demo-page.js';

describe('herald bench --html and --profile', () => {
  afterEach(killAll);

  it('writes a self-contained HTML report with every transport, the figures, the recommendation and the caveats', async () => {
    const dir = tempDir();
    const html = join(dir, 'bench.html');
    const json = join(dir, 'bench.json');
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
      '--html',
      html,
    ]);
    expect(result.status, result.stderr).toBe(0);
    const page = readFileSync(html, 'utf8');
    const report = readBenchReport(json);

    // Nothing fetched from anywhere: no URL at all, no script, no stylesheet link, no image source.
    expect(page).not.toMatch(/https?:\/\//i);
    expect(page).not.toMatch(/<script|<link|<img|<iframe|src=|@import|url\(/i);

    for (const label of ['WebSocket', 'SSE', 'Long-polling', 'Short polling']) expect(page).toContain(`>${label}</`);
    expect(page).toContain('<p class="pick">SSE</p>');
    for (const reason of report.recommendation.reasons) expect(page).toContain(`<li>${reason.replaceAll("'", '&#39;')}</li>`);
    for (const caveat of BENCH_CAVEATS) expect(page).toContain(caveat.replaceAll("'", '&#39;'));

    // In a real browser it renders without one network request: the table's figures and three charts of four transports.
    const browser = await launchChromium();
    try {
      const tab = await browser.newPage();
      const requests: string[] = [];
      tab.on('request', (request) => requests.push(request.url()));
      await tab.setContent(page, { waitUntil: 'load' });
      expect(requests).toEqual([]);
      const rows = await tab.locator('tbody tr').allTextContents();
      expect(rows).toHaveLength(4);
      const ws = report.transports[0]!;
      expect(rows[0]).toContain(`WebSocket${ws.latencyMs.p50.toLocaleString('en-US', { maximumFractionDigits: 1 })}`);
      const charts = tab.locator('svg[role=img]');
      expect(await charts.count()).toBe(3);
      // Latency: three bars per transport; bandwidth: two; requests: one.
      expect(await charts.nth(0).locator('rect').count()).toBe(12);
      expect(await charts.nth(1).locator('rect').count()).toBe(8);
      expect(await charts.nth(2).locator('rect').count()).toBe(4);
      const widths = await charts
        .nth(2)
        .locator('rect')
        .evaluateAll((rects) => rects.map((r) => Number(r.getAttribute('width'))));
      // Longest bar for the most requests.
      const most = report.transports.reduce(
        (best, r, i) => (r.requestsPerMinute > report.transports[best]!.requestsPerMinute ? i : best),
        0,
      );
      expect(Math.max(...widths)).toBe(widths[most]);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('reads the workload from --profile, with the flags over it', async () => {
    const dir = tempDir();
    const profile = join(dir, 'profile.json');
    const json = join(dir, 'bench.json');
    writeFileSync(profile, JSON.stringify({ preset: 'game', clients: 2, channels: 1, clientRate: 0, duration: 3, messageSize: 50 }));
    const result = await runCli(['bench', '--profile', profile, '--duration', '1', '--publish-rate', '4', '--json', json]);
    expect(result.status, result.stderr).toBe(0);
    const report = readBenchReport(json);
    expect(report.preset).toBe('game');
    expect(report.profile).toEqual({
      clients: 2,
      channels: 1,
      publishRate: 4,
      messageSize: 50,
      clientRate: 0,
      duration: 1,
      pollInterval: 1000,
    });
    // 4 messages/s for 1 s on the one channel, to both clients.
    for (const r of report.transports) expect(r.messages, r.transport).toEqual({ expected: 8, received: 8, lost: 0 });
  }, 45_000);

  it('refuses a bad profile file with one line naming the file and the field, and exit 1', async () => {
    const dir = tempDir();
    const write = (name: string, text: string): string => {
      const file = join(dir, name);
      writeFileSync(file, text);
      return file;
    };
    const cases: [string, string][] = [
      [write('a.json', '{"clients": 0}'), 'herald: --profile FILE: "clients" must be an integer from 1 to 10000, got 0\n'],
      [
        write('b.json', '{"publishRate": "fast"}'),
        'herald: --profile FILE: "publishRate" must be a number from 0.01 to 1000, got "fast"\n',
      ],
      [
        write('c.json', '{"preset": "chess"}'),
        'herald: --profile FILE: "preset" must be one of chat, notifications, dashboard, flash-sale, feed, game, collab, got "chess"\n',
      ],
      [
        write('d.json', '{"publish-rate": 3}'),
        'herald: --profile FILE: unknown field "publish-rate" (did you mean "publishRate"?); the fields are preset, clients, channels, publishRate, messageSize, clientRate, duration, pollInterval\n',
      ],
      [write('e.json', '[1]'), 'herald: --profile FILE: must be a JSON object\n'],
      [join(dir, 'missing.json'), 'herald: --profile FILE: cannot read it (ENOENT)\n'],
    ];
    for (const [file, stderr] of cases)
      expect(await runCli(['bench', '--profile', file])).toEqual({ status: 1, stdout: '', stderr: stderr.replace('FILE', file) });
    const notJson = await runCli(['bench', '--profile', write('f.json', '{clients: 2}')]);
    expect(notJson.status).toBe(1);
    expect(notJson.stderr).toMatch(/^herald: --profile .*f\.json: not JSON \(.+\)\n$/);
  });
});
