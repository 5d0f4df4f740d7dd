import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createHerald } from '@herald/server';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { readBenchReport } from './bench-report.js';
import { killAll, runCli, tempDir } from './cli-process.js';

describe('herald bench --url with a mount path', () => {
  afterEach(killAll);

  it('measures a hub attached under /realtime of an app: every request stays under the path, nothing is lost', async () => {
    const paths = new Set<string>();
    const app = createServer((req, res) => {
      paths.add(`app ${req.url ?? ''}`);
      res.writeHead(404).end();
    });
    const herald = createHerald({ path: '/realtime' });
    herald.attach(app);
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    onTestFinished(async () => {
      await herald.close();
      await new Promise((resolve) => app.close(resolve));
    });
    const url = `http://127.0.0.1:${(app.address() as AddressInfo).port}/realtime/`;
    const json = join(tempDir(), 'bench.json');
    const result = await runCli(['bench', '--preset', 'collab', '--clients', '2', '--duration', '1', '--url', url, '--json', json]);
    expect(result.status, result.stderr).toBe(0);
    const report = readBenchReport(json);
    expect(report.transports.map((r) => [r.transport, r.messages.lost])).toEqual([
      ['websocket', 0],
      ['sse', 0],
      ['long-polling', 0],
      ['short-polling', 0],
    ]);
    // The app itself answered nothing: publishes, streams, polls, upgrades and /metrics all went to Herald.
    expect([...paths]).toEqual([]);
  });
});
