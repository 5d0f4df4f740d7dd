import { freePort } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, runCli, startCliHub, type CliHub } from './cli-process.js';

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
    expect(result.stderr).toMatch(/^herald: line 4 is not valid JSON, skipped: .+\nherald: 1 line\(s\) not published \(not JSON\): 4\n$/);
    expect(await history(hub, 'replay')).toEqual([{ n: 1 }, 'two', null, [4]]);
  });

  it('stops at the first refusal of the hub, naming the line, and publishes nothing after it', async () => {
    const hub = await productionHub();
    // Past the body limit (maxBodyBytes, 1 MiB).
    const big = JSON.stringify('x'.repeat(1_100_000));
    const result = await runCli(['publish', 'replay', '--url', hub.url, '--key', API_KEY], { input: `1\n${big}\n3\n` });
    expect(result.status).toBe(1);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(
      /^herald: line 2: the hub refused the publish: 1006 body is larger than 1048576 bytes \(HTTP 413\); stopped: line 2 and the lines after it were not published\n$/,
    );
    expect(await history(hub, 'replay')).toEqual([1]);
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
  });
});
