import { freePort, publishHttp } from '@herald/testkit';
import { encodeCursor, parseCursor } from '@herald/protocol';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, runCli, startCli, startCliHub, writeConfig, type CliHub, type CliProcess } from './cli-process.js';

const SECRET = 'a-secret-that-is-long-enough-for-hs256!';
const API_KEY = 'an-api-key-of-16+chars';
const TAILING = /^herald: tailing .* over (websocket|sse|polling) \(Ctrl-C/m;

/** Starts `herald tail <args>` and resolves once every channel is subscribed. */
async function tail(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliProcess> {
  const cli = startCli(['tail', ...args], { env });
  const failed = cli.exited.then((code) => {
    throw new Error(`herald tail exited with ${code}: ${cli.stderr()}`);
  });
  failed.catch(() => {});
  await Promise.race([cli.waitFor(TAILING, 'stderr'), failed]);
  return cli;
}

/** Ctrl-C: resolves with the exit code and the cursor printed. */
async function interrupt(cli: CliProcess, json: boolean): Promise<{ status: number | string; cursor: string }> {
  cli.child.kill('SIGINT');
  const status = await cli.exited;
  const last = cli.stdout().trim().split('\n').at(-1)!;
  const cursor = json
    ? (JSON.parse(last) as { type: string; cursor: string }).cursor
    : /^resume with: herald tail .* --since (\S+)$/.exec(last)![1]!;
  return { status, cursor };
}

const jsonLines = (cli: CliProcess): { type: string; channel?: string; offset?: number; data?: unknown }[] =>
  cli
    .stdout()
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));

async function publish(hub: CliHub, channel: string, data: unknown): Promise<void> {
  const { status } = await publishHttp(hub.url, channel, data);
  expect(status).toBe(200);
}

describe('herald tail', () => {
  afterEach(killAll);

  it.each(['websocket', 'sse', 'polling'] as const)(
    'over %s: prints messages as they arrive, the cursor on Ctrl-C, and resumes from it with exactly the missed messages',
    async (transport) => {
      const hub = await startCliHub();
      const first = await tail(['chat', 'news', '--url', hub.url, '--transport', transport, '--no-presence']);
      expect(first.stderr()).toContain(`over ${transport}`);
      await publish(hub, 'chat', { text: 'one' });
      await publish(hub, 'news', 'headline');
      await publish(hub, 'chat', { text: 'two' });
      await first.waitFor(/chat \S+:2 \{"text":"two"\}\n/);
      await first.waitFor(/news \S+:1 "headline"\n/);
      const { status, cursor } = await interrupt(first, false);
      expect(status).toBe(0);
      const lines = first.stdout().trim().split('\n');
      expect(lines.slice(0, -2).sort()).toEqual([
        expect.stringMatching(/^chat \S+:1 \{"text":"one"\}$/),
        expect.stringMatching(/^chat \S+:2 \{"text":"two"\}$/),
        expect.stringMatching(/^news \S+:1 "headline"$/),
      ]);
      expect(lines.at(-2)).toBe(`cursor: ${cursor}`);

      // Missed while no tail ran: exactly these must come, nothing printed before.
      await publish(hub, 'chat', { text: 'three' });
      await publish(hub, 'news', 'late');
      await publish(hub, 'chat', { text: 'four' });
      const second = await tail(['chat', 'news', '--url', hub.url, '--transport', transport, '--no-presence', '--since', cursor, '--json']);
      await second.waitFor(/"offset":4/);
      await second.waitFor(/"late"/);
      await publish(hub, 'news', 'live');
      await second.waitFor(/"live"/);
      const resumed = await interrupt(second, true);
      expect(resumed.status).toBe(0);
      const events = jsonLines(second);
      expect(events.filter((e) => e.channel === 'chat').map((e) => [e.type, e.offset, e.data])).toEqual([
        ['message', 3, { text: 'three' }],
        ['message', 4, { text: 'four' }],
      ]);
      expect(events.filter((e) => e.channel === 'news').map((e) => [e.type, e.offset, e.data])).toEqual([
        ['message', 2, 'late'],
        ['message', 3, 'live'],
      ]);
      expect(events.at(-1)).toEqual({ type: 'cursor', cursor: resumed.cursor });
      expect(events).toHaveLength(5);
    },
  );

  it('prints joins and leaves, and a gap when the cursor has left the window', async () => {
    const hub = await startCliHub(['--history-size', '2']);
    const watcher = await tail(['room', '--url', hub.url]);
    const other = await tail(['room', '--url', hub.url, '--json']);
    // The watcher sees the other tail join (its own join first), then leave.
    await watcher.waitFor(/^room join \(anonymous\) \(\S+\)\n(?:.*\n)*room join \(anonymous\) \(\S+\)\n/m);
    await publish(hub, 'room', 1);
    await other.waitFor(/"data":1/);
    const { cursor } = await interrupt(other, true);
    await watcher.waitFor(/^room leave \(anonymous\) \(\S+\)$/m);
    for (let i = 2; i <= 5; i++) await publish(hub, 'room', i);
    const late = await tail(['room', '--url', hub.url, '--since', cursor, '--no-presence']);
    await late.waitFor(/room \S+:5 5\n/);
    const lines = late.stdout().trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^room gap \(window\): cannot resume after (\S+):1, resuming after \1:3$/),
      expect.stringMatching(/^room \S+:4 4$/),
      expect.stringMatching(/^room \S+:5 5$/),
    ]);
  });

  it('uses the API key (--key or HERALD_API_KEY) or a token (resuming from the signed cursor it printed), and says when the hub refuses them', async () => {
    const granted = { subscribe: 'granted', publish: 'none', history: 'none', presence: 'none' };
    const hub = await startCliHub([
      '--config',
      writeConfig({ auth: { secret: SECRET }, apiKeys: [API_KEY], namespaces: { chat: granted } }),
    ]);
    const keyedPublish = (channel: string, data: unknown): Promise<Response> =>
      fetch(`${hub.url}/api/publish`, { method: 'POST', headers: { 'x-herald-key': API_KEY }, body: JSON.stringify({ channel, data }) });
    for (const [transport, how] of [
      ['websocket', ['--key', API_KEY]],
      ['sse', ['--key', API_KEY]],
      ['polling', []],
    ] as const) {
      const keyed = await tail(['secret:1', '--url', hub.url, '--transport', transport, ...how], { HERALD_API_KEY: API_KEY });
      expect(keyed.stderr()).toContain(`over ${transport}`);
      expect((await keyedPublish('secret:1', transport)).status).toBe(200);
      await keyed.waitFor(new RegExp(`^secret:1 \\S+:\\d+ "${transport}"$`, 'm'));
      keyed.child.kill('SIGINT');
      expect(await keyed.exited).toBe(0);
    }
    const wrong = await runCli(['tail', 'secret:1', '--url', hub.url, '--key', 'not-the-key-at-all']);
    expect([wrong.status, wrong.stdout]).toEqual([1, '']);
    expect(wrong.stderr).toBe(`herald: the hub at ${hub.url} refused: 2000 the API key is not valid (HTTP 401)\n`);

    const token = await new SignJWT({ herald: { subscribe: ['chat:*'] } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SECRET));
    const alice = await tail(['chat:1', '--url', hub.url, '--token', token, '--no-presence']);
    expect((await keyedPublish('chat:1', 'for alice')).status).toBe(200);
    await alice.waitFor(/^chat:1 \S+:1 "for alice"$/m);
    // Alice may not read history: the hub signs her positions, and only a signed one resumes her.
    const { status, cursor } = await interrupt(alice, false);
    expect(status).toBe(0);
    const parsed = parseCursor(cursor);
    expect(parsed.ok && parsed.value.get('chat:1')).toEqual({ epoch: expect.any(String), offset: 1, mac: expect.any(String) });
    for (const data of ['missed 1', 'missed 2']) expect((await keyedPublish('chat:1', data)).status).toBe(200);
    const back = await tail(['chat:1', '--url', hub.url, '--token', token, '--no-presence', '--since', cursor, '--json']);
    await back.waitFor(/"missed 2"/);
    back.child.kill('SIGINT');
    expect(await back.exited).toBe(0);
    expect(jsonLines(back).map((e) => [e.type, e.offset, e.data])).toEqual([
      ['message', 2, 'missed 1'],
      ['message', 3, 'missed 2'],
      ['cursor', undefined, undefined],
    ]);
    const unsigned = encodeCursor(new Map([['chat:1', { epoch: parsed.ok ? parsed.value.get('chat:1')!.epoch : '', offset: 0 }]]));
    const forged = startCli(['tail', 'chat:1', '--url', hub.url, '--token', token, '--no-presence', '--since', unsigned]);
    expect(await forged.exited).toBe(1);
    expect(forged.stderr()).toMatch(/^herald: chat:1: 2001 resuming chat:1 from a position needs history permission.*\n$/m);
    const outside = await runCli(['tail', 'secret:1', '--url', hub.url, '--token', token]);
    expect(outside.status).toBe(1);
    expect(outside.stderr).toMatch(/^herald: the hub at \S+ refused: 2001 .+ \(HTTP 403\)\n$/);
  });

  it('names the URL and the cause when the hub cannot be reached, and refuses bad flags', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const down = await runCli(['tail', 'chat', '--url', url]);
    expect([down.status, down.stdout, down.stderr]).toEqual([
      1,
      '',
      `herald: cannot reach the hub at ${url}: connect ECONNREFUSED ${url.slice(7)}\n`,
    ]);
    for (const [args, message] of [
      [['tail', 'chat', '--since', 'nope'], 'herald: --since: not a Herald cursor'],
      [
        ['tail', 'chat', '--transport', 'carrier-pigeon'],
        "argument 'carrier-pigeon' is invalid. Allowed choices are websocket, sse, polling.",
      ],
      [['tail', 'bad channel'], 'herald: "bad channel": '],
      [['tail'], "error: missing required argument 'channel'"],
    ] as const) {
      const result = await runCli(args);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(message);
    }
    const help = await runCli(['tail', '--help']);
    for (const text of ['--since', '--transport', '--json', '--token', '--no-presence', 'HERALD_URL', 'Examples:'])
      expect(help.stdout).toContain(text);
  });
});
