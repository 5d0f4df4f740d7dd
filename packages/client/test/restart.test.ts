import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createClient, type Envelope, type Gap, type HeraldClient, type TransportName } from '@herald/client/node';
import { Collector } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../herald/bin/herald.js', import.meta.url));

/** Starts `herald start` in its own process; resolves with its URL once it listens. */
function startHubProcess(port: number): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, 'start', '--port', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HERALD_LOG_LEVEL: 'info' },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.includes('herald is listening'));
      if (line !== undefined) resolve({ child, url: (JSON.parse(line) as { url: string }).url });
    });
    child.once('exit', (code) => reject(new Error(`hub exited (${code}): ${err}`)));
  });
}

async function publish(url: string, channel: string, data: unknown): Promise<void> {
  const res = await fetch(`${url}/api/publish`, { method: 'POST', body: JSON.stringify({ channel, data }) });
  expect(res.status).toBe(200);
}

describe('hub restarted mid-stream (a fresh process, a fresh memory engine)', () => {
  const children: ChildProcess[] = [];
  const clients: HeraldClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it.each<TransportName>(['websocket', 'sse', 'polling'])(
    '%s: the client reconnects and reports an epoch gap, never a silent hole',
    async (transport) => {
      const first = await startHubProcess(0);
      children.push(first.child);
      const port = Number(new URL(first.url).port);
      const client = createClient({ url: first.url, transports: [transport], reconnect: { minDelay: 50, maxDelay: 200 }, pollWait: 2 });
      clients.push(client);
      const got = new Collector<Envelope>();
      const gaps = new Collector<Gap>();
      const sub = client.subscribe('restart', (m) => got.push(m));
      sub.on('gap', (g) => gaps.push(g));
      await new Promise<void>((resolve) => sub.on('state', (s) => s === 'subscribed' && resolve()));
      for (let i = 1; i <= 3; i++) await publish(first.url, 'restart', `before ${i}`);
      await got.count(3);
      const oldEpoch = got.items[0]!.epoch;

      first.child.kill('SIGKILL');
      await new Promise((resolve) => first.child.once('exit', resolve));
      const second = await startHubProcess(port);
      children.push(second.child);
      // Published before the client is back: it must still get these, after the gap.
      for (let i = 1; i <= 2; i++) await publish(second.url, 'restart', `after ${i}`);
      await gaps.count(1, 20_000);
      await got.count(5, 20_000);
      expect(gaps.items[0]).toMatchObject({ channel: 'restart', reason: 'epoch', requested: { epoch: oldEpoch, offset: 3 } });
      const newEpoch = gaps.items[0]!.resumed.epoch;
      expect(newEpoch).not.toBe(oldEpoch);
      expect(got.items.slice(3).map((m) => [m.epoch, m.offset, m.data])).toEqual([
        [newEpoch, 1, 'after 1'],
        [newEpoch, 2, 'after 2'],
      ]);
    },
    60_000,
  );
});
