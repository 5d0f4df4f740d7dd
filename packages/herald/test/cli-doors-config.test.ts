/**
 * `herald start` configures the Pusher and Mercure doors from the file and from HERALD_PUSHER_* /
 * HERALD_MERCURE_* variables: what it prints when they are on, what it refuses (naming the setting,
 * never its secret) and what the production profile requires of their secrets. What the doors then
 * do on the wire is cli-doors-e2e.test.ts.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, runCli, startCliHub, writeConfig } from './cli-process.js';

afterEach(killAll);

const AUTH_SECRET = 'a-secret-that-is-long-enough-for-hs256!';
const API_KEY = 'an-api-key-of-16+chars';
const PRODUCTION = { HERALD_AUTH_SECRET: AUTH_SECRET, HERALD_API_KEYS: API_KEY };
/** Door secrets of 32 bytes and more, and a short one; none may ever be printed. */
const SECRET_1 = 'pusher-secret-one-0123456789abcdef';
const SECRET_2 = 'pusher-secret-two-0123456789abcdef';
const MERCURE_KEY = 'mercure-key-of-32-bytes-0123456789';
const SHORT = 'short-door-key';

/** The log lines a hub printed on stdout, parsed. */
const logLines = (stdout: string): { level: number; msg: string; [field: string]: unknown }[] =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string });

/** Everything a process printed, for the check that no secret is in it. */
const printed = (result: { stdout: string | (() => string); stderr: string | (() => string) }): string =>
  [result.stdout, result.stderr].map((s) => (typeof s === 'function' ? s() : s)).join('\n');

/** Refused at start: exit 1, nothing on stdout, stderr containing each of `messages`, no secret. */
async function refused(args: string[], env: NodeJS.ProcessEnv, messages: string[], secrets: string[] = []): Promise<string> {
  const result = await runCli(['start', '--port', '0', ...args], { env });
  expect(result.status).toBe(1);
  expect(result.stdout).toBe('');
  for (const message of messages) expect(result.stderr).toContain(message);
  for (const secret of secrets) expect(printed(result)).not.toContain(secret);
  return result.stderr;
}

describe('herald start: the doors from the configuration file', () => {
  it('names the doors that are on (apps, keys, paths) and never prints a secret', async () => {
    const file = writeConfig({
      pusher: {
        apps: [
          { id: 'app1', key: 'key-one', secret: SECRET_1, webhooks: [{ url: 'http://127.0.0.1:9/hooks', events: ['channel_occupied'] }] },
          { id: 'app2', key: 'key-two', secret: SECRET_2, clientEvents: false, clientEventsPerSecond: 5 },
        ],
        activityTimeout: 60,
        pongTimeout: 10,
        timestampWindow: 300,
        webhookDelivery: { maxAttempts: 3, timeout: 2000 },
      },
      mercure: { jwtKey: MERCURE_KEY, anonymous: true, subscriptions: true },
    });
    const hub = await startCliHub(['--config', file]);
    const lines = hub.stderr().split('\n');
    expect(lines.slice(0, 3)).toEqual([
      'herald: profile dev (default: no security configured)',
      'herald: Pusher apps: app1 (/app/key-one), app2 (/app/key-two); HTTP API /apps/{id}/…',
      'herald: Mercure: /.well-known/mercure (publishers HS256, subscribers HS256 or anonymous, subscriptions API on)',
    ]);
    const listening = logLines(hub.stdout()).find((line) => line.msg === 'herald is listening');
    expect(listening).toMatchObject({ profile: 'dev', pusherApps: ['app1', 'app2'], mercure: true });
    for (const secret of [SECRET_1, SECRET_2, MERCURE_KEY]) expect(printed(hub)).not.toContain(secret);
  });

  it('prints no door line when neither door is configured', async () => {
    const hub = await startCliHub([]);
    expect(hub.stderr()).not.toContain('Pusher');
    expect(hub.stderr()).not.toContain('Mercure');
    const listening = logLines(hub.stdout()).find((line) => line.msg === 'herald is listening');
    expect(listening).not.toHaveProperty('pusherApps');
    expect(listening).not.toHaveProperty('mercure');
  });

  it('says which key verifies which side of Mercure', async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const file = writeConfig({ mercure: { publisherJwtKey: MERCURE_KEY, subscriberJwtKey: pem, subscriberJwtAlgorithm: 'ES256' } });
    const hub = await startCliHub(['--config', file]);
    expect(hub.stderr()).toContain('herald: Mercure: /.well-known/mercure (publishers HS256, subscribers ES256)\n');
  });

  it('refuses each bad field, naming it, and prints none of the secrets', async () => {
    const file = writeConfig({
      pusher: {
        apps: [
          {
            id: 'app 1',
            key: 'key/1',
            secret: SECRET_1,
            clientEventsPerSecond: 0,
            webhooks: [{ url: 'ftp://x', events: ['member_joined'] }],
          },
          { id: 'app2', key: 'key2', secret: '', secrett: SECRET_2 },
        ],
        activityTimeout: 0,
        pongTimeout: 601,
        webhookDelivery: { maxAttempts: 0, url: 'http://127.0.0.1:9/' },
        timestampWindow: 1.5,
      },
      mercure: { jwtKey: MERCURE_KEY, jwtAlgorithm: 'none', anonymous: 'yes' },
    });
    await refused(
      ['--config', file],
      {},
      [
        'herald: invalid configuration:\n',
        '  pusher.apps.0.id: must be 1–64 characters from A–Z a–z 0–9 _ -\n',
        '  pusher.apps.0.key: must be 1–256 characters without / ? # % or white space\n',
        '  pusher.apps.0.clientEventsPerSecond: must be a number from 1 to 10000\n',
        '  pusher.apps.0.webhooks.0.url: must be an http(s) URL\n',
        '  pusher.apps.0.webhooks.0.events.0: Invalid option: expected one of "channel_occupied"|"channel_vacated"|"member_added"|"member_removed"|"client_event"\n',
        '  pusher.apps.1.secret: must not be empty\n',
        '  pusher.apps.1: Unrecognized key: "secrett"\n',
        '  pusher.activityTimeout: must be an integer of seconds from 1 to 3600\n',
        '  pusher.pongTimeout: must be an integer of seconds from 1 to 600\n',
        '  pusher.timestampWindow: must be an integer of seconds from 1 to 86400\n',
        '  pusher.webhookDelivery.maxAttempts: Too small: expected number to be >=1\n',
        '  pusher.webhookDelivery: Unrecognized key: "url"\n',
        '  mercure.jwtAlgorithm: Invalid option: expected one of "HS256"|"HS384"|"HS512"|"RS256"|"RS384"|"RS512"|"ES256"|"ES384"|"ES512"\n',
        '  mercure.anonymous: Invalid input: expected boolean, received string\n',
      ],
      [SECRET_1, SECRET_2, MERCURE_KEY],
    );
  });

  it('refuses two apps with one id or one key, an empty app list and a pusher section without apps', async () => {
    const twice = writeConfig({
      pusher: {
        apps: [
          { id: 'app1', key: 'k1', secret: SECRET_1 },
          { id: 'app1', key: 'k2', secret: SECRET_2 },
          { id: 'app3', key: 'k1', secret: SECRET_2 },
        ],
      },
    });
    await refused(
      ['--config', twice],
      {},
      [
        '  pusher.apps.1.id: "app1" is also the id of pusher.apps.0: each app needs its own\n',
        '  pusher.apps.2.key: "k1" is also the key of pusher.apps.0: each app needs its own\n',
      ],
      [SECRET_1, SECRET_2],
    );
    await refused(['--config', writeConfig({ pusher: { apps: [] } })], {}, ['  pusher.apps: needs at least one app\n']);
    await refused(['--config', writeConfig({ pusher: {} })], {}, ['  pusher.apps: Invalid input: expected array, received undefined\n']);
  });

  it('refuses a Mercure section that cannot verify anyone, and keys that do not fit their algorithm', async () => {
    await refused(['--config', writeConfig({ mercure: { anonymous: false } })], {}, [
      "  mercure: needs jwtKey or publisherJwtKey: the key that verifies publishers' JWTs\n",
      "  mercure: needs jwtKey or subscriberJwtKey (the key that verifies subscribers' JWTs), or anonymous: true\n",
    ]);
    // Anonymous subscribers need no subscriber key; publishers still need theirs.
    const stderr = await refused(['--config', writeConfig({ mercure: { anonymous: true } })], {}, ['needs jwtKey or publisherJwtKey']);
    expect(stderr).not.toContain('subscriberJwtKey');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await refused(
      [
        '--config',
        writeConfig({
          mercure: {
            jwtKey: rsa,
            publisherJwtKey: MERCURE_KEY,
            publisherJwtAlgorithm: 'RS256',
            subscriberJwtKey: p384,
            subscriberJwtAlgorithm: 'ES256',
          },
        }),
      ],
      {},
      [
        '  mercure.publisherJwtKey: must be a PEM RSA public key for RS256\n',
        '  mercure.subscriberJwtKey: must be a PEM EC P-256 public key for ES256\n',
      ],
      [MERCURE_KEY],
    );
    await refused(['--config', writeConfig({ mercure: { jwtKey: rsa } })], {}, [
      '  mercure.jwtKey: is a PEM key, but the algorithm is HS256: set the algorithm to RS* or ES* for a public key\n',
    ]);
  });
});

describe('herald start: the doors from HERALD_PUSHER_* and HERALD_MERCURE_* variables', () => {
  it('takes one app from HERALD_PUSHER_APP_*, replacing the apps of the file', async () => {
    const file = writeConfig({ pusher: { apps: [{ id: 'from-file', key: 'file-key', secret: SECRET_1 }], activityTimeout: 30 } });
    const hub = await startCliHub(['--config', file], {
      HERALD_PUSHER_APP_ID: 'from-env',
      HERALD_PUSHER_APP_KEY: 'env-key',
      HERALD_PUSHER_APP_SECRET: SECRET_2,
      HERALD_PUSHER_WEBHOOK_URL: 'http://127.0.0.1:9/pusher-hooks',
    });
    expect(hub.stderr()).toContain('herald: Pusher apps: from-env (/app/env-key); HTTP API /apps/{id}/…\n');
    expect(hub.stderr()).not.toContain('from-file');
    expect(printed(hub)).not.toContain(SECRET_2);
  });

  it('takes several apps from HERALD_PUSHER_APPS (JSON), checked like the file', async () => {
    const apps = [
      { id: 'a', key: 'ka', secret: SECRET_1 },
      { id: 'b', key: 'kb', secret: SECRET_2, clientEvents: false },
    ];
    const hub = await startCliHub([], { HERALD_PUSHER_APPS: JSON.stringify(apps) });
    expect(hub.stderr()).toContain('herald: Pusher apps: a (/app/ka), b (/app/kb); HTTP API /apps/{id}/…\n');
    expect(printed(hub)).not.toContain(SECRET_1);
    await refused([], { HERALD_PUSHER_APPS: JSON.stringify([{ id: 'a', key: 'ka' }]) }, [
      '  pusher.apps.0.secret: Invalid input: expected string, received undefined\n',
    ]);
  });

  it.each([
    [
      { HERALD_PUSHER_APPS: '[]', HERALD_PUSHER_APP_ID: 'x', HERALD_PUSHER_APP_SECRET: SECRET_1 },
      'herald: HERALD_PUSHER_APPS and HERALD_PUSHER_APP_ID, HERALD_PUSHER_APP_SECRET are both set: use one way to configure the Pusher apps\n',
    ],
    [
      { HERALD_PUSHER_APP_ID: 'x', HERALD_PUSHER_APP_SECRET: SECRET_1 },
      'herald: HERALD_PUSHER_APP_ID, HERALD_PUSHER_APP_SECRET set without HERALD_PUSHER_APP_KEY: one Pusher app needs all three\n',
    ],
    [
      { HERALD_PUSHER_WEBHOOK_URL: 'http://127.0.0.1:9/x' },
      'herald: HERALD_PUSHER_WEBHOOK_URL set without HERALD_PUSHER_APP_ID, HERALD_PUSHER_APP_KEY, HERALD_PUSHER_APP_SECRET: one Pusher app needs all three\n',
    ],
    [{ HERALD_PUSHER_APPS: `[{"secret":"${SECRET_1}"` }, 'herald: HERALD_PUSHER_APPS is not valid JSON: '],
    // V8 quotes the start of the text in this message: a secret pasted in the wrong variable would be printed.
    [{ HERALD_PUSHER_APPS: SECRET_1 }, 'herald: HERALD_PUSHER_APPS is not valid JSON: Unexpected token\n'],
    [
      { HERALD_PUSHER_APPS: `{"id":"a","key":"k","secret":"${SECRET_1}"}` },
      'herald: HERALD_PUSHER_APPS must be a JSON array of apps: [{"id": …, "key": …, "secret": …}]\n',
    ],
  ])('refuses %j', async (env, message) => {
    const stderr = await refused([], env, [message], [SECRET_1]);
    if (message.endsWith('\n')) expect(stderr).toBe(message);
  });

  it('configures Mercure from HERALD_MERCURE_*, over the file field by field', async () => {
    const file = writeConfig({ mercure: { jwtKey: SHORT, anonymous: false } });
    const hub = await startCliHub(['--config', file], {
      HERALD_MERCURE_JWT_KEY: MERCURE_KEY,
      HERALD_MERCURE_JWT_ALGORITHM: 'HS512',
      HERALD_MERCURE_SUBSCRIBER_JWT_KEY: `${MERCURE_KEY}-subscribers`,
      HERALD_MERCURE_SUBSCRIBER_JWT_ALGORITHM: 'HS384',
      HERALD_MERCURE_ANONYMOUS: 'true',
      HERALD_MERCURE_SUBSCRIPTIONS: '1',
    });
    expect(hub.stderr()).toContain(
      'herald: Mercure: /.well-known/mercure (publishers HS512, subscribers HS384 or anonymous, subscriptions API on)\n',
    );
    // The file's short key was replaced: nothing to warn about.
    expect(logLines(hub.stdout()).filter((line) => line.level >= 40 && line.msg.startsWith('door secrets'))).toEqual([]);
    expect(printed(hub)).not.toContain(MERCURE_KEY);
    await refused(
      [],
      { HERALD_MERCURE_JWT_KEY: MERCURE_KEY, HERALD_MERCURE_PUBLISHER_JWT_ALGORITHM: 'RS256' },
      ['  mercure.jwtKey: must be a PEM RSA public key for RS256\n'],
      [MERCURE_KEY],
    );
  });
});

describe('herald start: the doors and the profile', () => {
  it('does not choose the production profile; the dev profile warns about short secrets without printing them', async () => {
    const hub = await startCliHub([], {
      HERALD_PUSHER_APP_ID: 'app1',
      HERALD_PUSHER_APP_KEY: 'key1',
      HERALD_PUSHER_APP_SECRET: SHORT,
      HERALD_MERCURE_JWT_KEY: `${SHORT}-m`,
    });
    expect(hub.stderr()).toMatch(/^herald: profile dev \(default: no security configured\)\n/);
    const warning = logLines(hub.stdout()).find((line) => line.msg.startsWith('door secrets'));
    expect(warning).toMatchObject({
      level: 40,
      msg: 'door secrets shorter than 32 bytes: the production profile refuses them',
      fields: ['pusher.apps.0.secret (14 bytes)', 'mercure.jwtKey (16 bytes)'],
    });
    expect(printed(hub)).not.toContain(SHORT);
  });

  it('production refuses a Pusher secret or a Mercure HMAC key under 32 bytes, naming the field only', async () => {
    await refused(
      [],
      {
        ...PRODUCTION,
        HERALD_PUSHER_APPS: JSON.stringify([
          { id: 'ok', key: 'k1', secret: SECRET_1 },
          { id: 'weak', key: 'k2', secret: SHORT },
        ]),
        HERALD_MERCURE_PUBLISHER_JWT_KEY: `${SHORT}-p`,
        HERALD_MERCURE_SUBSCRIBER_JWT_KEY: MERCURE_KEY,
      },
      [
        'herald: the production profile needs door secrets of at least 32 bytes (openssl rand -hex 32): pusher.apps.1.secret (14 bytes), mercure.publisherJwtKey (16 bytes)\n',
      ],
      [SECRET_1, SHORT, MERCURE_KEY],
    );
  });

  it('production starts with long door secrets, and with a Mercure public key of any length', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const hub = await startCliHub([], {
      ...PRODUCTION,
      HERALD_PUSHER_APP_ID: 'app1',
      HERALD_PUSHER_APP_KEY: 'key1',
      HERALD_PUSHER_APP_SECRET: SECRET_1,
      HERALD_MERCURE_JWT_KEY: rsa,
      HERALD_MERCURE_JWT_ALGORITHM: 'RS256',
    });
    expect(hub.stderr()).toBe(
      'herald: profile production (HERALD_AUTH_SECRET, HERALD_API_KEYS)\n' +
        'herald: Pusher apps: app1 (/app/key1); HTTP API /apps/{id}/…\n' +
        'herald: Mercure: /.well-known/mercure (publishers RS256, subscribers RS256)\n',
    );
    expect(printed(hub)).not.toContain(SECRET_1);
  });
});

describe('herald start --help', () => {
  it('names the door variables', async () => {
    const help = await runCli(['start', '--help']);
    for (const name of [
      'HERALD_PUSHER_APP_ID',
      'HERALD_PUSHER_APPS',
      'HERALD_PUSHER_WEBHOOK_URL',
      'HERALD_MERCURE_JWT_KEY',
      'HERALD_MERCURE_ANONYMOUS',
    ])
      expect(help.stdout).toContain(name);
  });
});
