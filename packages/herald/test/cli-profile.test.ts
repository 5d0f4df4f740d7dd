import { afterEach, describe, expect, it } from 'vitest';
import { killAll, runCli, startCli, startCliHub, writeConfig } from './cli-process.js';

const SECRET = 'a-secret-that-is-long-enough-for-hs256!';
const API_KEY = 'an-api-key-of-16+chars';
const SECURE = { HERALD_AUTH_SECRET: SECRET, HERALD_API_KEYS: API_KEY };

/** The log lines a hub printed on stdout, parsed. */
const logLines = (stdout: string): { level: number; msg: string; [field: string]: unknown }[] =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string });

afterEach(killAll);

describe('herald start: the profile', () => {
  it('stays dev with HERALD_* variables that define no security, and says why', async () => {
    const hub = await startCliHub([], {
      HERALD_HOST: '127.0.0.1',
      HERALD_ENGINE: 'memory',
      HERALD_HISTORY_SIZE: '10',
      HERALD_ACCESS_LOG: '0',
    });
    expect(hub.stderr()).toMatch(/^herald: profile dev \(default: no security configured\)\n/);
    expect(hub.stderr()).toContain('HERALD DEV PROFILE');
    expect((await fetch(`${hub.url}/`)).status).toBe(200);
    const listening = logLines(hub.stdout()).find((line) => line.msg === 'herald is listening');
    expect(listening).toMatchObject({ profile: 'dev', profileReason: 'default: no security configured' });
  });

  it('warns louder when the dev profile is bound beyond this machine', async () => {
    const hub = await startCliHub(['--host', '0.0.0.0']);
    expect(hub.stderr()).toContain('The dev profile is bound to 0.0.0.0: every machine that can reach this port may use it.');
    const local = await startCliHub(['--host', '127.0.0.1']);
    expect(local.stderr()).not.toContain('The dev profile is bound');
  });

  it('is production when the variables or the file define security, naming them', async () => {
    const fromEnv = await startCliHub([], SECURE);
    expect(fromEnv.stderr()).toBe('herald: profile production (HERALD_AUTH_SECRET, HERALD_API_KEYS)\n');
    expect((await fetch(`${fromEnv.url}/`)).status).toBe(404);
    const file = writeConfig({ auth: { secret: SECRET }, apiKeys: [API_KEY], allowedOrigins: ['https://app.example'] });
    const fromFile = await startCliHub(['--config', file]);
    expect(fromFile.stderr()).toBe(`herald: profile production (auth.secret, apiKeys, allowedOrigins in ${file})\n`);
    const listening = logLines(fromFile.stdout()).find((line) => line.msg === 'herald is listening');
    expect(listening).toMatchObject({ profile: 'production', profileReason: `auth.secret, apiKeys, allowedOrigins in ${file}` });
  });

  it('takes --profile over HERALD_PROFILE, and HERALD_PROFILE over the configuration', async () => {
    const asked = await startCliHub(['--profile', 'production'], { ...SECURE, HERALD_PROFILE: 'dev' });
    expect(asked.stderr()).toContain('herald: profile production (--profile)');
    const fromEnv = await startCliHub([], { HERALD_PROFILE: 'dev', HERALD_HOST: '127.0.0.1' });
    expect(fromEnv.stderr()).toContain('herald: profile dev (HERALD_PROFILE)');
    expect(await runCli(['start', '--port', '0'], { env: { HERALD_PROFILE: 'production', HERALD_LOG_LEVEL: 'silent' } })).toMatchObject({
      status: 1,
      stderr: expect.stringContaining('herald: the production profile needs a token key') as unknown,
    });
  });

  it.each([
    [
      ['--profile', 'dev'],
      SECURE,
      'herald: --profile dev would ignore the security configured (HERALD_AUTH_SECRET, HERALD_API_KEYS) and run open: remove it, or use the production profile\n',
    ],
    [
      [],
      { HERALD_PROFILE: 'dev', HERALD_API_KEYS: API_KEY },
      'herald: HERALD_PROFILE=dev would ignore the security configured (HERALD_API_KEYS)',
    ],
    [[], { HERALD_PROFILE: 'staging' }, 'herald: HERALD_PROFILE must be dev or production, got "staging"\n'],
    [['--profile', 'staging'], {}, '--profile must be one of dev, production, got "staging"'],
    [['--log-level', 'loud'], {}, '--log-level must be one of fatal, error, warn, info, debug, trace, silent, got "loud"'],
  ])('refuses %j with %j at once', async (args, env, message) => {
    const result = await runCli(['start', '--port', '0', ...args], { env });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    // A message ending with a newline is the whole of stderr: one line.
    if (message.endsWith('\n')) expect(result.stderr).toBe(message);
    else expect(result.stderr).toContain(message);
  });
});

describe('herald start --log-level', () => {
  it('wins over HERALD_LOG_LEVEL', async () => {
    const quiet = startCli(['start', '--port', '0', '--log-level', 'warn'], { env: { HERALD_LOG_LEVEL: 'debug' } });
    await quiet.waitFor(/Herald is running: open (\S+)\//, 'stderr');
    expect(quiet.stdout()).toBe('');
    const loud = await startCliHub(['--log-level', 'info'], { HERALD_LOG_LEVEL: 'error' });
    expect(logLines(loud.stdout()).map((line) => line.msg)).toContain('herald is listening');
  });
});
