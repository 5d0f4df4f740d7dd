import { publishHttp } from '@herald/testkit';
import { parseCursor } from '@herald/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, startCli, startCliHub, type CliHub, type CliProcess } from './cli-process.js';

// The cursor `herald tail` prints on Ctrl-C covers every channel it tailed, also those where no
// message arrived: resuming from it gets exactly the messages missed on each.

const TAILING = /^herald: tailing .* over (websocket|sse|polling) \(Ctrl-C/m;

async function tail(args: string[]): Promise<CliProcess> {
  const cli = startCli(['tail', ...args]);
  const failed = cli.exited.then((code) => {
    throw new Error(`herald tail exited with ${code}: ${cli.stderr()}`);
  });
  failed.catch(() => {});
  await Promise.race([cli.waitFor(TAILING, 'stderr'), failed]);
  return cli;
}

/** Ctrl-C: the exit code and the cursor printed (`--json`). */
async function interrupt(cli: CliProcess): Promise<{ status: number | string; cursor: string }> {
  cli.child.kill('SIGINT');
  const status = await cli.exited;
  const last = JSON.parse(cli.stdout().trim().split('\n').at(-1)!) as { type: string; cursor: string };
  expect(last.type).toBe('cursor');
  return { status, cursor: last.cursor };
}

const messages = (cli: CliProcess): [string, number, unknown][] =>
  cli
    .stdout()
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; channel: string; offset: number; data: unknown })
    .filter((event) => event.type === 'message')
    .map((event) => [event.channel, event.offset, event.data]);

async function publish(hub: CliHub, channel: string, data: unknown): Promise<void> {
  expect((await publishHttp(hub.url, channel, data)).status).toBe(200);
}

describe('herald tail: the Ctrl-C cursor', () => {
  afterEach(killAll);

  it.each(['websocket', 'sse', 'polling'] as const)(
    'over %s: covers a channel where nothing arrived, so resuming gets the missed messages of both',
    async (transport) => {
      const hub = await startCliHub();
      // Stored before the tail: neither printed nor resumed.
      await publish(hub, 'quiet', 'old');
      const flags = ['--url', hub.url, '--transport', transport, '--no-presence', '--json'];
      const first = await tail(['busy', 'quiet', ...flags]);
      await publish(hub, 'busy', 1);
      await first.waitFor(/"data":1/);
      const { status, cursor } = await interrupt(first);
      expect(status).toBe(0);
      expect(messages(first)).toEqual([['busy', 1, 1]]);
      const positions = parseCursor(cursor);
      expect(positions.ok && [...positions.value].map(([channel, at]) => [channel, at.offset])).toEqual([
        ['busy', 1],
        ['quiet', 1],
      ]);

      await publish(hub, 'busy', 2);
      await publish(hub, 'quiet', 'missed');
      const second = await tail(['busy', 'quiet', ...flags, '--since', cursor]);
      await second.waitFor(/"missed"/);
      await second.waitFor(/"data":2/);
      await publish(hub, 'quiet', 'live');
      await second.waitFor(/"live"/);
      expect((await interrupt(second)).status).toBe(0);
      expect(messages(second).sort()).toEqual([
        ['busy', 2, 2],
        ['quiet', 2, 'missed'],
        ['quiet', 3, 'live'],
      ]);
    },
  );

  it('covers a single quiet channel: resuming gets what was published after the first tail started', async () => {
    const hub = await startCliHub();
    const first = await tail(['quiet', '--url', hub.url, '--no-presence', '--json']);
    const { status, cursor } = await interrupt(first);
    expect(status).toBe(0);
    expect(first.stderr()).not.toContain('no position to resume from');
    expect(messages(first)).toEqual([]);

    await publish(hub, 'quiet', 'a');
    await publish(hub, 'quiet', 'b');
    const second = await tail(['quiet', '--url', hub.url, '--no-presence', '--json', '--since', cursor]);
    await second.waitFor(/"b"/);
    expect((await interrupt(second)).status).toBe(0);
    expect(messages(second)).toEqual([
      ['quiet', 1, 'a'],
      ['quiet', 2, 'b'],
    ]);
  });
});
