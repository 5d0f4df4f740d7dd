import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startHeraldNode, startNatsServer, WsTestClient, type HeraldNode, type TestNatsCluster } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../bin/herald.js', import.meta.url));

const publish = async (url: string, channel: string, data: unknown): Promise<{ channel: string; epoch: string; offset: number }> => {
  const res = await fetch(`${url}/api/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { channel: string; epoch: string; offset: number };
};

describe('herald start --engine nats://…', () => {
  const nodes: HeraldNode[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const node of nodes.splice(0)) await node.stop();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it.each([
    [['start', '--engine', 'nats://'], 'bad NATS engine "nats://"'],
    [['start', '--engine', 'nats://127.0.0.1'], 'every server must be host:port'],
    [['start', '--engine', 'nats://127.0.0.1:4222?replicas=9'], 'bad NATS engine option "replicas=9"'],
    [['start', '--engine', 'nats://u:secret@127.0.0.1'], 'every server must be host:port'],
    [['start', '--engine', 'nats://127.0.0.1:4222?password=secret'], 'bad NATS engine option "password"'],
  ])('refuses %j with a clear error, never quoting a credential', (args, message) => {
    const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toContain('secret');
  });

  it('two nodes on one NATS share the log and live delivery: published on one, delivered to a WebSocket on the other, read back on both', async () => {
    const nats: TestNatsCluster = await startNatsServer();
    cleanups.push(() => nats.close());
    const engine = `${nats.url}?prefix=CLI_TEST`;
    const a = await startHeraldNode({ engine });
    nodes.push(a);
    const b = await startHeraldNode({ engine });
    nodes.push(b);
    expect(a.output()).toContain(`"engine":"${nats.url}?replicas=1&prefix=CLI_TEST"`);
    const ws = await WsTestClient.connect(`ws://127.0.0.1:${b.port}/ws`);
    cleanups.push(() => ws.close());
    expect((await ws.request({ type: 'subscribe', channel: 'news' })).error).toBeUndefined();
    const first = await publish(a.url, 'news', 'one');
    const second = await publish(b.url, 'news', 'two');
    expect([first.offset, second.offset]).toEqual([1, 2]);
    expect(second.epoch).toBe(first.epoch);
    const live = await ws.waitForMessages(2, 'news');
    expect(live.map((m: { offset: number; data: unknown }) => [m.offset, m.data])).toEqual([
      [1, 'one'],
      [2, 'two'],
    ]);
    for (const node of [a, b]) {
      const body = (await (await fetch(`${node.url}/api/messages?channel=news`)).json()) as { messages: { data: unknown }[] };
      expect(body.messages.map((m) => m.data)).toEqual(['one', 'two']);
    }
  });
});
