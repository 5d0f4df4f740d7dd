import { statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, runCli, startCliHub, tempDir, writeConfig, type CliHub } from './cli-process.js';

const GRANTED = { subscribe: 'granted', publish: 'granted', history: 'granted', presence: 'granted' };

/** Runs `herald keygen <args>` and parses the configuration fragment it prints. */
async function keygen(args: string[]): Promise<Record<string, any>> {
  const result = await runCli(['keygen', ...args]);
  expect([result.status, result.stderr]).toEqual([0, '']);
  return JSON.parse(result.stdout);
}

/** Runs `herald token <args>` and returns the token. */
async function token(args: string[]): Promise<string> {
  const result = await runCli(['token', ...args]);
  expect([result.status, result.stderr]).toEqual([0, '']);
  expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  return result.stdout.trim();
}

const publish = (hub: CliHub, channel: string, headers: Record<string, string>): Promise<Response> =>
  fetch(`${hub.url}/api/publish`, { method: 'POST', headers, body: JSON.stringify({ channel, data: 'x' }) });

/** What the hub answers a token for: the codes of a publish and a poll on each channel. */
async function access(hub: CliHub, jwt: string, channel: string): Promise<[number, number]> {
  const headers = { authorization: `Bearer ${jwt}` };
  const published = await publish(hub, channel, headers);
  const polled = await fetch(`${hub.url}/api/messages?channel=${channel}`, { headers });
  return [published.status, polled.status];
}

describe('herald keygen and herald token', () => {
  afterEach(killAll);

  it('hs256 and api-key: a hub started from keygen output accepts the key and the tokens signed for it, within their grants', async () => {
    const secret = await keygen([]);
    const apiKey = await keygen(['--type', 'api-key']);
    expect(secret).toEqual({ auth: { secret: expect.stringMatching(/^[\w-]{64}$/) } });
    expect(apiKey).toEqual({ apiKeys: [expect.stringMatching(/^[\w-]{43}$/)] });
    expect((await keygen([])).auth.secret).not.toBe(secret.auth.secret);
    const config = writeConfig({ ...secret, ...apiKey, namespaces: { chat: GRANTED, room: GRANTED } });
    const hub = await startCliHub(['--config', config]);

    const published = await runCli(['publish', 'room:1', '1', '--url', hub.url, '--key', apiKey.apiKeys[0]]);
    expect([published.status, published.stderr]).toEqual([0, '']);

    const jwt = await token(['--config', config, '--sub', 'alice', '--grant', 'chat:*=subscribe,publish', '--ttl', '1h']);
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = decodeJwt(jwt);
    expect(claims).toEqual({
      sub: 'alice',
      herald: { subscribe: ['chat:*'], publish: ['chat:*'] },
      iat: expect.any(Number),
      exp: claims.iat! + 3600,
    });
    expect(await access(hub, jwt, 'chat:1')).toEqual([200, 200]);
    // Outside the grant: another namespace, and an operation not granted on a granted one.
    expect(await access(hub, jwt, 'room:1')).toEqual([403, 403]);
    const history = await fetch(`${hub.url}/api/history?channel=chat:1`, { headers: { authorization: `Bearer ${jwt}` } });
    expect([history.status, await history.json()]).toEqual([
      403,
      { error: { code: 2001, message: expect.stringContaining('history'), channel: 'chat:1' } },
    ]);

    // A bare pattern grants all four operations; HERALD_AUTH_SECRET alone (with the API key) is a configuration too.
    const all = await runCli(['token', '--sub', 'bob', '--grant', 'room:1', '--ttl', '90s'], {
      env: { HERALD_AUTH_SECRET: secret.auth.secret, HERALD_API_KEYS: apiKey.apiKeys[0] },
    });
    expect(all.status).toBe(0);
    const bob = all.stdout.trim();
    expect(decodeJwt(bob)).toMatchObject({ sub: 'bob', channels: ['room:1'] });
    expect(decodeJwt(bob).exp! - decodeJwt(bob).iat!).toBe(90);
    expect(await access(hub, bob, 'room:1')).toEqual([200, 200]);
    expect(await access(hub, bob, 'room:2')).toEqual([403, 403]);
  });

  it('es256: the public key goes to the configuration, the private key (a JWK file) signs tokens the hub accepts', async () => {
    const dir = tempDir();
    const signer = join(dir, 'signer.jwk');
    const pair = await keygen(['--type', 'es256', '--private-key-out', signer]);
    expect(pair).toEqual({
      auth: { publicKey: expect.stringMatching(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/) },
    });
    expect(statSync(signer).mode & 0o777).toBe(0o600);
    const again = await runCli(['keygen', '--type', 'es256', '--private-key-out', signer]);
    expect([again.status, again.stderr]).toEqual([1, `herald: --private-key-out ${signer} exists: not overwritten\n`]);

    const { apiKeys } = await keygen(['--type', 'api-key']);
    const config = writeConfig({ ...pair, apiKeys, namespaces: { chat: GRANTED } });
    const hub = await startCliHub(['--config', config]);

    const jwt = await token(['--config', config, '--private-key', signer, '--sub', 'alice', '--grant', 'chat:*=publish,subscribe']);
    expect(decodeProtectedHeader(jwt)).toMatchObject({ alg: 'ES256', kid: expect.any(String) });
    expect(await access(hub, jwt, 'chat:1')).toEqual([200, 200]);
    expect(await access(hub, jwt, 'other:1')).toEqual([403, 403]);

    const unsigned = await runCli(['token', '--config', config, '--sub', 'alice']);
    expect(unsigned.status).toBe(1);
    expect(unsigned.stderr).toContain(
      'herald: the configuration holds only auth.publicKey, which verifies tokens but cannot sign them: pass the matching private key with --private-key FILE',
    );

    const otherSigner = join(dir, 'other.jwk');
    await keygen(['--type', 'es256', '--private-key-out', otherSigner]);
    const mismatch = await runCli(['token', '--config', config, '--private-key', otherSigner, '--sub', 'alice']);
    expect([mismatch.status, mismatch.stdout]).toEqual([1, '']);
    expect(mismatch.stderr).toBe(
      `herald: --private-key ${otherSigner} does not match auth.publicKey of the configuration: the hub would refuse its tokens\n`,
    );
  });

  it('sets the audience and issuer the hub checks', async () => {
    const secret = await keygen([]);
    const { apiKeys } = await keygen(['--type', 'api-key']);
    const config = writeConfig({
      auth: { ...secret.auth, audience: 'herald', issuer: ['https://id.example', 'other'] },
      apiKeys,
      namespaces: { chat: GRANTED },
    });
    const hub = await startCliHub(['--config', config]);
    const jwt = await token(['--config', config, '--sub', 'alice', '--grant', 'chat:1']);
    expect(decodeJwt(jwt)).toMatchObject({ aud: 'herald', iss: 'https://id.example' });
    expect(await access(hub, jwt, 'chat:1')).toEqual([200, 200]);
  });

  it.each([
    [['token', '--sub', 'alice'], 'herald: the configuration has no auth key'],
    [['token', '--grant', 'chat:*'], "error: required option '--sub <user>' not specified"],
    [
      ['token', '--sub', 'a', '--grant', 'chat:*=subscribe,read'],
      'herald: --grant "chat:*=subscribe,read": "read" is not one of subscribe, publish, history, presence',
    ],
    [['token', '--sub', 'a', '--ttl', '1y'], 'herald: --ttl must be a duration from 1s to 365d (e.g. 90s, 15m, 1h, 7d), got "1y"'],
    [['token', '--sub', 'a', '--config', '/nonexistent.json'], 'herald: cannot read /nonexistent.json: ENOENT'],
    [['keygen', '--type', 'rsa'], "argument 'rsa' is invalid. Allowed choices are hs256, es256, api-key."],
    [['keygen', '--type', 'es256'], 'herald: --type es256 needs --private-key-out FILE'],
    [['keygen', '--private-key-out', '/tmp/x.jwk'], 'herald: --private-key-out is for --type es256 only'],
  ])('refuses %j with a clear error', async (args, message) => {
    const result = await runCli(args, { env: { HERALD_AUTH_SECRET: '' } });
    expect([result.status, result.stdout]).toEqual([1, '']);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a grant pattern the hub would not match, and warns on stderr when no --grant is given', async () => {
    const config = writeConfig({ auth: { secret: 'a-secret-that-is-long-enough-for-hs256!' }, apiKeys: ['an-api-key-of-16+chars'] });
    for (const grant of ['a*b', 'chat:**', '*chat=subscribe']) {
      const refused = await runCli(['token', '--config', config, '--sub', 'alice', '--grant', grant]);
      expect([refused.status, refused.stdout, refused.stderr]).toEqual([
        1,
        '',
        `herald: --grant "${grant}": the pattern must be a channel name (chat:1) or the start of one followed by a single * (chat:*, or * for every channel)\n`,
      ]);
    }
    const bare = await runCli(['token', '--config', config, '--sub', 'alice']);
    expect(bare.status).toBe(0);
    expect(bare.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(bare.stderr).toBe(
      'herald: warning: no --grant: the token grants no channel; it passes only where the namespace rules need no grant\n',
    );
  });

  it('documents both commands in --help, with examples', async () => {
    const tokenHelp = await runCli(['token', '--help']);
    for (const text of ['--sub', '--grant', '--ttl', '--config', '--private-key', 'Examples:']) expect(tokenHelp.stdout).toContain(text);
    // Grants only count where the namespace rules ask for them: said, with a configuration to show it.
    expect(tokenHelp.stdout).toContain(`A grant counts only where the hub's namespace rules say "granted" (or "owner") for that operation`);
    expect(tokenHelp.stdout).toContain('"news": { "subscribe": "authenticated", "publish": "none"');
    const keygenHelp = await runCli(['keygen', '--help']);
    for (const text of ['--type', 'hs256', 'es256', 'api-key', '--private-key-out', 'Examples:']) expect(keygenHelp.stdout).toContain(text);
  });
});
