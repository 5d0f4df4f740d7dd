import { freePort } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, runCli, startCli, startCliHub, type CliHub } from './cli-process.js';

const SECRET = 'a-secret-that-is-long-enough-for-hs256!';
const API_KEY = 'an-api-key-of-16+chars';

/** A production hub (HERALD_* variables) whose backend key is {@link API_KEY}. */
const productionHub = (args: string[] = []): Promise<CliHub> => startCliHub(args, { HERALD_AUTH_SECRET: SECRET, HERALD_API_KEYS: API_KEY });

async function history(hub: CliHub, channel: string): Promise<unknown[]> {
  const res = await fetch(`${hub.url}/api/history?channel=${channel}`, { headers: { 'x-herald-key': API_KEY } });
  return ((await res.json()) as { messages: { data: unknown }[] }).messages.map((m) => m.data);
}

describe('herald publish', () => {
  afterEach(killAll);

  it('publishes one JSON value with the API key from HERALD_API_KEY and prints its position', async () => {
    const hub = await productionHub();
    const result = await runCli(['publish', 'news:1', '{"text":"hello"}', '--url', hub.url], { env: { HERALD_API_KEY: API_KEY } });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ channel: 'news:1', epoch: expect.any(String), offset: 1 });
    expect(result.stdout.split('\n')).toHaveLength(2);
    expect(await history(hub, 'news:1')).toEqual([{ text: 'hello' }]);
  });

  it('replays stdin line by line: blank lines skipped, a bad line reported by number while the rest go on, exit 1', async () => {
    const hub = await productionHub();
    const input = '{"n":1}\n\n"two"\r\n{"n":\nnull\n   \n[4]';
    const result = await runCli(['publish', 'replay', '--url', hub.url, '--key', API_KEY], { input });
    expect(result.status).toBe(1);
    expect(
      result.stdout
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { offset: number }).offset),
    ).toEqual([1, 2, 3, 4]);
    expect(result.stderr).toMatch(/^herald: line 4 is not valid JSON, skipped: .+\nherald: 1 line\(s\) not published: 4 \(not JSON\)\n$/);
    expect(await history(hub, 'replay')).toEqual([{ n: 1 }, 'two', null, [4]]);
  });

  it('replays a file in order, in batches, and a line the hub refuses alone is reported and skipped', async () => {
    const hub = await productionHub();
    const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
    const lines = Array.from({ length: 250 }, (_, i) => JSON.stringify({ n: i + 1 }));
    // Alone, 62 levels fit the hub's depth limit (64) inside {"channel","data"}; in a batch
    // ({"messages":[{…}]}) they do not: the batch is refused whole and sent again line by line.
    lines[99] = nested(62);
    // Past the limit even alone, and past the body limit: refused, skipped.
    lines[100] = nested(64);
    lines[101] = JSON.stringify('x'.repeat(1_100_000));
    const result = await runCli(['publish', 'replay', '--url', hub.url, '--key', API_KEY], { input: lines.join('\n') });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'herald: line 101: the hub refused it: 1000 JSON nests too deeply\n' +
        'herald: line 102: the hub refused it: 1006 body is larger than 1048576 bytes\n' +
        'herald: 2 line(s) not published: 101 (refused), 102 (refused)\n',
    );
    expect(
      result.stdout
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { offset: number }).offset),
    ).toEqual(Array.from({ length: 248 }, (_, i) => i + 1));
    const stored = await history(hub, 'replay');
    expect(stored).toHaveLength(248);
    expect(stored[99]).toEqual(JSON.parse(nested(62)));
    expect(stored.slice(100, 103)).toEqual([{ n: 103 }, { n: 104 }, { n: 105 }]);
  });

  it('publishes from a pipe as lines arrive, and stops when the hub is gone, naming the line', async () => {
    const hub = await productionHub();
    const cli = startCli(['publish', 'live', '--url', hub.url, '--key', API_KEY], { openStdin: true });
    cli.child.stdin!.write('"first"\n');
    await cli.waitFor(/"offset":1\}\n/);
    cli.child.stdin!.write('"second"\n');
    await cli.waitFor(/"offset":2\}\n/);
    expect(await history(hub, 'live')).toEqual(['first', 'second']);
    hub.child.kill('SIGTERM');
    await hub.exited;
    cli.child.stdin!.end('"third"\n"fourth"\n');
    expect(await cli.exited).toBe(1);
    expect(cli.stderr()).toMatch(
      new RegExp(
        `^herald: line 3: cannot reach the hub at ${hub.url}: connect ECONNREFUSED \\S+; stopped: line 3 and the lines after it were not published\\n$`,
      ),
    );
  });

  it('says what the hub refused: a wrong key, no credential', async () => {
    const hub = await productionHub();
    const wrong = await runCli(['publish', 'news', '1', '--url', hub.url, '--key', 'not-the-key-at-all']);
    expect([wrong.status, wrong.stdout, wrong.stderr]).toEqual([
      1,
      '',
      'herald: the hub refused the publish: 2000 the API key is not valid (HTTP 401)\n',
    ]);
    const none = await runCli(['publish', 'news', '1', '--url', hub.url]);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/^herald: the hub refused the publish: 2000 .*\(HTTP 401\)\n$/);
  });

  it('names the URL and the cause when the hub cannot be reached', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const result = await runCli(['publish', 'news', '1', '--url', url]);
    expect([result.status, result.stdout]).toEqual([1, '']);
    expect(result.stderr).toBe(`herald: cannot reach the hub at ${url}: connect ECONNREFUSED ${url.slice('http://'.length)}\n`);
    const fromStdin = await runCli(['publish', 'news'], { input: '1\n2\n', env: { HERALD_URL: url } });
    expect(fromStdin.stderr).toBe(
      `herald: line 1: cannot reach the hub at ${url}: connect ECONNREFUSED ${url.slice('http://'.length)}; stopped: line 1 and the lines after it were not published\n`,
    );
  });

  it.each([
    [['publish', 'news', '{oops'], "herald: the message is not valid JSON (Expected property name or '}' in JSON at position 1"],
    [['publish', 'news', 'hello'], 'not valid JSON'],
    [['publish'], "error: missing required argument 'channel'"],
    [['publish', 'news', '1', '--url', 'ftp://x'], 'herald: --url must be an http:// or https:// URL, got "ftp://x"'],
    [['publish', 'news', '1', '--bogus'], "error: unknown option '--bogus'"],
  ])('refuses %j with a clear error and no stack trace', async (args, message) => {
    const result = await runCli(args);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('shows examples in --help', async () => {
    const result = await runCli(['publish', '--help']);
    expect(result.status).toBe(0);
    for (const text of ['--url', 'HERALD_URL', '--key', 'HERALD_API_KEY', 'Examples:', '< messages.jsonl'])
      expect(result.stdout).toContain(text);
    // As operations.md says: lines refused for their content are skipped, failures of every line stop.
    expect(result.stdout).toContain(
      'or that the hub refuses for what\nit holds (codes 1000-1999: too large, nested too deeply), is reported with its number and skipped',
    );
    expect(result.stdout).toContain('stops the command: that line and the lines after it are not sent');
  });
});
