import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, shutdownTimeoutOf } from './config.js';
import { SECURITY_ENV_VARS, SECURITY_FIELDS } from './profile.js';

const SECRET = 'a-secret-that-is-long-enough-for-hs256!';
const KEY = 'an-api-key-of-16+chars';

function file(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'herald-config-')), 'herald.config.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('loadConfig', () => {
  it('is the dev profile with defaults when nothing is configured', () => {
    const { config, profile } = loadConfig({ env: {}, flags: {} });
    expect(profile).toBe('dev');
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      historySize: 1000,
      historyTtl: 86_400,
      allowAnonymous: false,
      namespaces: {},
      limits: {},
    });
  });

  it('takes compression from the file, HERALD_COMPRESSION and --no-compression, and checks its fields', () => {
    expect(loadConfig({ env: {}, flags: {} }).config.compression).toBe(true);
    expect(loadConfig({ env: { HERALD_COMPRESSION: 'false' }, flags: {} }).config.compression).toBe(false);
    expect(loadConfig({ env: { HERALD_COMPRESSION: '1' }, flags: {} }).config.compression).toBe(true);
    expect(loadConfig({ env: {}, flags: { compression: false } }).config.compression).toBe(false);
    const tuned = { websocket: false, threshold: 1024, level: 1 };
    expect(loadConfig({ file: file({ compression: tuned }), env: {}, flags: {} }).config.compression).toEqual(tuned);
    expect(() => loadConfig({ file: file({ compression: { level: 10 } }), env: {}, flags: {} })).toThrow(
      /compression.level: must be an integer from 1 to 9/,
    );
    expect(() => loadConfig({ file: file({ compression: { threshold: -1 } }), env: {}, flags: {} })).toThrow(/compression.threshold/);
    const takeover = { contextTakeover: true, windowBits: 11, memLevel: 3 };
    expect(loadConfig({ file: file({ compression: takeover }), env: {}, flags: {} }).config.compression).toEqual(takeover);
    expect(() => loadConfig({ file: file({ compression: { windowBits: 8 } }), env: {}, flags: {} })).toThrow(
      /compression.windowBits: must be an integer from 9 to 15/,
    );
    expect(() => loadConfig({ file: file({ compression: { memLevel: 0 } }), env: {}, flags: {} })).toThrow(/compression.memLevel/);
    expect(() => loadConfig({ file: file({ compression: { contextTakeover: 'yes' } }), env: {}, flags: {} })).toThrow(
      /compression.contextTakeover/,
    );
    expect(() => loadConfig({ file: file({ compression: { brotli: true } }), env: {}, flags: {} })).toThrow(ConfigError);
  });

  it('is the production profile when the file or HERALD_* variables define security, and refuses to start without a key and an API key', () => {
    expect(() => loadConfig({ file: file({ allowedOrigins: ['https://app.example'] }), env: {}, flags: {} })).toThrow(
      new ConfigError(
        'the production profile needs a token key: auth.secret, auth.publicKey or auth.jwksUrl (or HERALD_AUTH_SECRET, HERALD_AUTH_PUBLIC_KEY, HERALD_AUTH_JWKS_URL), or a connect hook: hooks.connect (or HERALD_HOOKS_CONNECT_URL) and an API key: apiKeys (or HERALD_API_KEYS)',
      ),
    );
    expect(() => loadConfig({ env: { HERALD_AUTH_SECRET: SECRET }, flags: {} })).toThrow(
      'the production profile needs an API key: apiKeys (or HERALD_API_KEYS)',
    );
    const { profile, profileReason, config } = loadConfig({
      env: { HERALD_AUTH_SECRET: SECRET, HERALD_API_KEYS: `${KEY}, second-key-0123456789` },
      flags: {},
    });
    expect([profile, profileReason]).toEqual(['production', 'HERALD_AUTH_SECRET, HERALD_API_KEYS']);
    expect(config.apiKeys).toEqual([KEY, 'second-key-0123456789']);
    expect(config.auth).toMatchObject({ secret: SECRET, leeway: 5, cookie: 'herald_token' });
  });

  it('names the security that chose production: the fields of the file, then the variables', () => {
    const path = file({ auth: { secret: SECRET, leeway: 2 }, apiKeys: [KEY], namespaces: {}, port: 4000 });
    expect(loadConfig({ file: path, env: { HERALD_ALLOWED_ORIGINS: '*', HERALD_HOST: '0.0.0.0' }, flags: {} })).toMatchObject({
      profile: 'production',
      profileReason: `auth.secret, apiKeys, namespaces in ${path}; HERALD_ALLOWED_ORIGINS`,
    });
    // Each field and variable that defines security counts on its own, whatever its value.
    for (const field of SECURITY_FIELDS) {
      const at = file({ [field]: field === 'allowAnonymous' ? false : {} });
      expect(() => loadConfig({ file: at, env: {}, flags: {}, profile: 'dev' })).toThrow(`security configured (${field} in ${at})`);
    }
    for (const name of SECURITY_ENV_VARS)
      expect(() => loadConfig({ env: { [name]: 'false' }, flags: {}, profile: 'dev' })).toThrow(`security configured (${name})`);
  });

  it('stays dev for a file or HERALD_* variables without security: host, port, engine, limits, log level', () => {
    const env = {
      HERALD_HOST: '0.0.0.0',
      HERALD_PORT: '4000',
      HERALD_ENGINE: 'memory',
      HERALD_HISTORY_SIZE: '5',
      HERALD_SHUTDOWN_DELAY: '10',
      HERALD_LOG_LEVEL: 'debug',
      HERALD_ACCESS_LOG: '1',
      HERALD_AUTH_SECRET: '',
    };
    const loaded = loadConfig({ file: file({ port: 5000, limits: { maxChannels: 10 }, accessLog: false }), env, flags: {} });
    expect(loaded).toMatchObject({ profile: 'dev', profileReason: 'default: no security configured' });
    expect(loaded.config).toMatchObject({ host: '0.0.0.0', port: 4000, historySize: 5, accessLog: true, limits: { maxChannels: 10 } });
    expect(loadConfig({ file: file({}), env: {}, flags: {} }).profile).toBe('dev');
  });

  it('takes the profile asked for (--profile over HERALD_PROFILE), and refuses dev with security or an unknown name', () => {
    const secure = { HERALD_AUTH_SECRET: SECRET, HERALD_API_KEYS: KEY };
    expect(loadConfig({ env: { HERALD_PROFILE: 'dev' }, flags: {} })).toMatchObject({ profile: 'dev', profileReason: 'HERALD_PROFILE' });
    expect(loadConfig({ env: { ...secure, HERALD_PROFILE: 'production' }, flags: {} })).toMatchObject({
      profile: 'production',
      profileReason: 'HERALD_PROFILE',
    });
    expect(loadConfig({ env: { ...secure, HERALD_PROFILE: 'dev' }, flags: {}, profile: 'production' })).toMatchObject({
      profile: 'production',
      profileReason: '--profile',
    });
    expect(loadConfig({ env: { HERALD_PROFILE: 'production' }, flags: {}, profile: 'dev' }).profileReason).toBe('--profile');
    expect(() => loadConfig({ env: { HERALD_PROFILE: 'production' }, flags: {} })).toThrow('the production profile needs a token key');
    expect(() => loadConfig({ env: secure, flags: {}, profile: 'dev' })).toThrow(
      new ConfigError(
        '--profile dev would ignore the security configured (HERALD_AUTH_SECRET, HERALD_API_KEYS) and run open: remove it, or use the production profile',
      ),
    );
    const path = file({ apiKeys: [KEY] });
    expect(() => loadConfig({ file: path, env: { HERALD_PROFILE: 'dev' }, flags: {} })).toThrow(
      new ConfigError(
        `HERALD_PROFILE=dev would ignore the security configured (apiKeys in ${path}) and run open: remove it, or use the production profile`,
      ),
    );
    expect(() => loadConfig({ env: { HERALD_PROFILE: 'prod' }, flags: {} })).toThrow(
      new ConfigError('HERALD_PROFILE must be dev or production, got "prod"'),
    );
    expect(loadConfig({ env: { HERALD_PROFILE: '' }, flags: {} }).profileReason).toBe('default: no security configured');
  });

  it('applies defaults < file < environment < flags', () => {
    const path = file({ port: 4000, host: '0.0.0.0', historySize: 10, auth: { secret: SECRET }, apiKeys: [KEY] });
    expect(loadConfig({ file: path, env: {}, flags: {} }).config).toMatchObject({ port: 4000, host: '0.0.0.0', historySize: 10 });
    expect(loadConfig({ file: path, env: { HERALD_PORT: '5000', HERALD_HISTORY_SIZE: '20' }, flags: {} }).config).toMatchObject({
      port: 5000,
      historySize: 20,
      host: '0.0.0.0',
    });
    expect(loadConfig({ file: path, env: { HERALD_PORT: '5000' }, flags: { port: 6000 } }).config.port).toBe(6000);
  });

  it('reads PORT as platforms set it: over the file, under HERALD_PORT and --port, and never as a HERALD_* setting', () => {
    const path = file({ port: 4000, auth: { secret: SECRET }, apiKeys: [KEY] });
    expect(loadConfig({ env: { PORT: '8080' }, flags: {} })).toMatchObject({ profile: 'dev', config: { port: 8080 } });
    expect(loadConfig({ env: { PORT: '' }, flags: {} }).config.port).toBe(3000);
    expect(loadConfig({ file: path, env: { PORT: '8080' }, flags: {} }).config.port).toBe(8080);
    const keys = { HERALD_AUTH_SECRET: SECRET, HERALD_API_KEYS: KEY };
    expect(loadConfig({ env: { ...keys, PORT: '8080', HERALD_PORT: '5000' }, flags: {} }).config.port).toBe(5000);
    expect(loadConfig({ env: { ...keys, PORT: '8080', HERALD_PORT: '5000' }, flags: { port: 6000 } }).config.port).toBe(6000);
    expect(() => loadConfig({ env: { PORT: 'http' }, flags: {} })).toThrow(/^invalid configuration:\n {2}port: /);
  });

  it('names every problem exactly', () => {
    const path = file({
      port: 70_000,
      auth: { secret: 'short' },
      apiKeys: ['k'],
      namespaces: { chat: { subscribe: 'everyone' } },
      bogus: 1,
    });
    let message = '';
    try {
      loadConfig({ file: path, env: {}, flags: {} });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('invalid configuration:');
    expect(message).toContain('port: Too big: expected number to be <=65535');
    expect(message).toContain('auth.secret: must be at least 32 characters');
    expect(message).toContain('apiKeys.0: API keys must be at least 16 characters');
    expect(message).toContain('namespaces.chat.subscribe: Invalid option');
    expect(message).toContain('Unrecognized key: "bogus"');
  });

  it('reads a namespace delta switch and refuses anything but a boolean', () => {
    const rules = { subscribe: 'anonymous', publish: 'none', history: 'anonymous', presence: 'none' };
    const on = file({ auth: { secret: SECRET }, apiKeys: [KEY], namespaces: { dash: { ...rules, delta: true }, chat: rules } });
    expect(loadConfig({ file: on, env: {}, flags: {} }).config.namespaces).toMatchObject({ dash: { delta: true }, chat: {} });
    const bad = file({ auth: { secret: SECRET }, apiKeys: [KEY], namespaces: { dash: { ...rules, delta: 'yes' } } });
    expect(() => loadConfig({ file: bad, env: {}, flags: {} })).toThrow('namespaces.dash.delta: must be true or false');
  });

  it('reads the engine, Redis, shutdown and idempotency settings, with defaults, and refuses bad ones', () => {
    const dev = loadConfig({ env: {}, flags: {} }).config;
    expect(dev).toMatchObject({
      engine: 'memory',
      shutdownDelay: 0,
      idempotencyTtl: 300,
      redis: { prefix: 'herald:', memberTtl: 30, commandTimeout: 5000, connectTimeout: 10_000 },
    });
    const base = { auth: { secret: SECRET }, apiKeys: [KEY] };
    const set = loadConfig({
      file: file({ ...base, engine: 'redis://10.0.0.5:6379', redis: { prefix: 'app:' }, shutdownDelay: 5000, idempotencyTtl: 60 }),
      env: { HERALD_ENGINE: 'sqlite:/var/lib/herald.db' },
      flags: {},
    }).config;
    expect(set).toMatchObject({
      engine: 'sqlite:/var/lib/herald.db',
      shutdownDelay: 5000,
      idempotencyTtl: 60,
      redis: { prefix: 'app:', memberTtl: 30 },
    });
    expect(() =>
      loadConfig({
        file: file({ ...base, engine: 'postgres://x', idempotencyTtl: 0, shutdownDelay: -1, redis: { memberTtl: 0, bogus: 1 } }),
        env: {},
        flags: {},
      }),
    ).toThrow(
      new ConfigError(
        'invalid configuration:\n  engine: unknown engine "postgres://x": use memory, redis://host:port, redis-cluster://host:port,…, redis-sentinel://host:port,…/<master-name>, nats://host:port[,host:port…] or sqlite:<file>\n  shutdownDelay: Too small: expected number to be >=0\n  idempotencyTtl: Too small: expected number to be >=1\n  redis.memberTtl: must be a number of seconds from 1 to 2147483\n  redis: Unrecognized key: "bogus"',
      ),
    );
  });

  it('reads the webhooks section from the file and HERALD_WEBHOOKS_* (which stay the dev profile), and refuses bad values', () => {
    expect(loadConfig({ env: {}, flags: {} }).config.webhooks).toBeUndefined();
    const loaded = loadConfig({
      file: file({ webhooks: { url: 'https://app.example/hooks', secrets: ['s'.repeat(16)], events: ['presence_join'], lease: 60_000 } }),
      env: {
        HERALD_WEBHOOKS_SECRET: 'first-secret-0123456, second-secret-012345',
        HERALD_WEBHOOKS_EVENTS: 'client_publish,connection_closed',
        HERALD_WEBHOOKS_BATCH_SIZE: '50',
        HERALD_WEBHOOKS_MAX_ATTEMPTS: '5',
        HERALD_WEBHOOKS_RETRY_BASE: '500',
        HERALD_WEBHOOKS_RETRY_MAX: '60000',
        HERALD_WEBHOOKS_TIMEOUT: '2000',
        HERALD_WEBHOOKS_CONCURRENCY: '2',
        HERALD_WEBHOOKS_MAX_QUEUED: '1000',
        HERALD_WEBHOOKS_MAX_DEAD: '200',
        HERALD_WEBHOOKS_PRESENCE_DEBOUNCE: '0',
      },
      flags: {},
    });
    expect(loaded.profile).toBe('dev');
    expect(loaded.config.webhooks).toEqual({
      url: 'https://app.example/hooks',
      secrets: ['first-secret-0123456', 'second-secret-012345'],
      events: ['client_publish', 'connection_closed'],
      batchSize: 50,
      maxAttempts: 5,
      retryBase: 500,
      retryMax: 60_000,
      timeout: 2000,
      lease: 60_000,
      concurrency: 2,
      maxQueued: 1000,
      maxDead: 200,
      presenceDebounce: 0,
    });
    expect(
      loadConfig({ env: { HERALD_WEBHOOKS_URL: 'http://127.0.0.1:4000/w', HERALD_WEBHOOKS_SECRET: 'x'.repeat(16) }, flags: {} }).config
        .webhooks,
    ).toEqual({ url: 'http://127.0.0.1:4000/w', secrets: ['x'.repeat(16)] });
    expect(() =>
      loadConfig({
        file: file({
          webhooks: { url: 'ftp://x', secrets: [], events: ['nope'], batchSize: 1001, maxDead: 1_000_000_001, presenceDebounce: -1 },
        }),
        env: {},
        flags: {},
      }),
    ).toThrow(
      new ConfigError(
        `invalid configuration:\n  webhooks.url: must be an http(s) URL\n  webhooks.secrets: Too small: expected array to have >=1 items\n  webhooks.events.0: Invalid option: expected one of "channel_occupied"|"channel_vacated"|"presence_join"|"presence_leave"|"client_publish"|"connection_closed"|"client_ack"\n  webhooks.batchSize: Too big: expected number to be <=1000\n  webhooks.maxDead: Too big: expected number to be <=1000000000\n  webhooks.presenceDebounce: must be an integer of ms from 0 to 2147483647`,
      ),
    );
    expect(() => loadConfig({ env: { HERALD_WEBHOOKS_SECRET: 'x'.repeat(16) }, flags: {} })).toThrow('webhooks.url');
  });

  it('shutdownTimeout: shutdownDelay + 30 s unless set (file, HERALD_SHUTDOWN_TIMEOUT, flag); more than shutdownDelay', () => {
    expect(shutdownTimeoutOf(loadConfig({ env: {}, flags: {} }).config)).toBe(30_000);
    expect(shutdownTimeoutOf(loadConfig({ env: {}, flags: { shutdownDelay: 5000 } }).config)).toBe(35_000);
    const base = { auth: { secret: SECRET }, apiKeys: [KEY] };
    const fromFile = loadConfig({ file: file({ ...base, shutdownTimeout: 9000 }), env: {}, flags: {} }).config;
    expect(shutdownTimeoutOf(fromFile)).toBe(9000);
    const fromEnv = loadConfig({ env: { HERALD_SHUTDOWN_TIMEOUT: '7000', HERALD_AUTH_SECRET: SECRET, HERALD_API_KEYS: KEY }, flags: {} });
    expect([fromEnv.profile, shutdownTimeoutOf(fromEnv.config)]).toEqual(['production', 7000]);
    expect(shutdownTimeoutOf(loadConfig({ env: {}, flags: { shutdownTimeout: 1 } }).config)).toBe(1);
    expect(() => loadConfig({ env: {}, flags: { shutdownDelay: 5000, shutdownTimeout: 5000 } })).toThrow(
      new ConfigError('invalid configuration:\n  shutdownTimeout: must be more than shutdownDelay (5000 ms)'),
    );
    expect(() => loadConfig({ env: {}, flags: { shutdownTimeout: 0 } })).toThrow(
      new ConfigError('invalid configuration:\n  shutdownTimeout: must be an integer of ms from 1 to 2147483647'),
    );
  });

  it('reads pollPresenceGrace (seconds, default 30, 0 = off) from the file, HERALD_POLL_PRESENCE_GRACE and the flag, and refuses bad ones', () => {
    expect(loadConfig({ env: {}, flags: {} }).config.pollPresenceGrace).toBe(30);
    expect(loadConfig({ file: file({ pollPresenceGrace: 0 }), env: {}, flags: {} }).config.pollPresenceGrace).toBe(0);
    expect(
      loadConfig({ file: file({ pollPresenceGrace: 0 }), env: { HERALD_POLL_PRESENCE_GRACE: '90' }, flags: {} }).config.pollPresenceGrace,
    ).toBe(90);
    expect(loadConfig({ env: { HERALD_POLL_PRESENCE_GRACE: '90' }, flags: { pollPresenceGrace: 5 } }).config.pollPresenceGrace).toBe(5);
    for (const bad of [0.5, -1, 3_000_000]) {
      expect(() => loadConfig({ file: file({ pollPresenceGrace: bad }), env: {}, flags: {} })).toThrow(
        new ConfigError('invalid configuration:\n  pollPresenceGrace: must be 0 or a number of seconds from 1 to 2147483'),
      );
    }
  });

  it('reads cursor secrets from the file or HERALD_CURSOR_SECRETS, and refuses short ones', () => {
    const base = { auth: { secret: SECRET }, apiKeys: [KEY] };
    const secret = 'c'.repeat(32);
    expect(loadConfig({ file: file({ ...base, cursorSecrets: [secret] }), env: {}, flags: {} }).config.cursorSecrets).toEqual([secret]);
    expect(
      loadConfig({ file: file(base), env: { HERALD_CURSOR_SECRETS: ` ${secret}, ${'d'.repeat(40)} ` }, flags: {} }).config.cursorSecrets,
    ).toEqual([secret, 'd'.repeat(40)]);
    expect(loadConfig({ file: file(base), env: {}, flags: {} }).config.cursorSecrets).toBeUndefined();
    expect(() => loadConfig({ file: file({ ...base, cursorSecrets: ['short'] }), env: {}, flags: {} })).toThrow(
      'cursorSecrets.0: cursor secrets must be at least 32 characters',
    );
  });

  it('reports an unreadable or non-JSON file', () => {
    expect(() => loadConfig({ file: '/nonexistent/herald.json', env: {}, flags: {} })).toThrow(
      'cannot read /nonexistent/herald.json: ENOENT',
    );
    expect(() => loadConfig({ file: file('{nope'), env: {}, flags: {} })).toThrow(/is not valid JSON/);
    expect(() => loadConfig({ file: file('[1]'), env: {}, flags: {} })).toThrow(/must hold a JSON object/);
  });

  it('bounds every timer setting by what a Node.js timer can wait (2³¹ − 1 ms; headersTimeout by the 30 s request timeout), both ends with one message', () => {
    const base = { auth: { secret: SECRET }, apiKeys: [KEY] };
    const longest = { authTimeout: 2_147_483_647, pingInterval: 2_147_483_647, headersTimeout: 30_000 };
    expect(loadConfig({ file: file({ ...base, limits: longest }), env: {}, flags: {} }).config.limits).toEqual(longest);
    const tooLong = { authTimeout: 2_147_483_648, pingInterval: 2 ** 40, headersTimeout: 30_001 };
    const redis = { commandTimeout: 2_147_483_648, connectTimeout: 1.5, memberTtl: 2_147_484 };
    expect(() => loadConfig({ file: file({ ...base, limits: tooLong, redis }), env: {}, flags: {} })).toThrow(
      new ConfigError(
        'invalid configuration:\n' +
          '  redis.memberTtl: must be a number of seconds from 1 to 2147483\n' +
          '  redis.commandTimeout: must be an integer of ms from 1 to 2147483647\n' +
          '  redis.connectTimeout: must be an integer of ms from 1 to 2147483647\n' +
          '  limits.authTimeout: must be an integer of ms from 1 to 2147483647\n' +
          '  limits.pingInterval: must be an integer of ms from 1 to 2147483647\n' +
          '  limits.headersTimeout: must be an integer of ms from 1 to 30000',
      ),
    );
  });

  it('reads the ticket and request-head limits; maxChannels is at most 128 (the channels a cursor holds)', () => {
    const base = { auth: { secret: SECRET }, apiKeys: [KEY] };
    const limits = { maxHeaderBytes: 65_536, ticketsPerUser: 4, ticketsPerSecond: 0.5, ticketBurst: 8 };
    expect(loadConfig({ file: file({ ...base, limits }), env: {}, flags: {} }).config.limits).toEqual(limits);
    expect(() => loadConfig({ file: file({ ...base, limits: { maxChannels: 129, ticketsPerUser: 0 } }), env: {}, flags: {} })).toThrow(
      new ConfigError(
        'invalid configuration:\n  limits.maxChannels: Too big: expected number to be <=128\n  limits.ticketsPerUser: Too small: expected number to be >=1',
      ),
    );
  });

  it('needs exactly one token key', () => {
    expect(() =>
      loadConfig({
        env: { HERALD_AUTH_SECRET: SECRET, HERALD_AUTH_JWKS_URL: 'https://id.example/jwks.json', HERALD_API_KEYS: KEY },
        flags: {},
      }),
    ).toThrow('auth: needs exactly one of secret, publicKey, jwksUrl');
  });
});

describe('loadConfig: hooks', () => {
  const HOOK = 'hook-secret-of-at-least-16';
  it('reads the hooks section and the HERALD_HOOKS_* variables, the variables winning', () => {
    const path = file({
      apiKeys: [KEY],
      hooks: { secrets: ['an-older-secret-16+'], connect: 'http://app/connect', namespaces: { chat: { subscribe: false } } },
    });
    const { config, profile, profileReason } = loadConfig({
      file: path,
      env: {
        HERALD_HOOKS_SECRET: `${HOOK}, second-hook-secret-16`,
        HERALD_HOOKS_SUBSCRIBE_URL: 'https://app/subscribe',
        HERALD_HOOKS_PUBLISH_URL: 'https://app/publish',
        HERALD_HOOKS_REFRESH_URL: 'https://app/refresh',
        HERALD_HOOKS_RPC_URL: 'https://app/rpc',
        HERALD_HOOKS_TIMEOUT: '1500',
        HERALD_HOOKS_CONCURRENCY: '8',
        HERALD_HOOKS_MAX_QUEUED: '100',
        HERALD_HOOKS_CACHE_TTL: '30',
        HERALD_HOOKS_FORWARD_HEADERS: 'X-Session, user-agent',
        HERALD_HOOKS_FORWARD_COOKIES: 'sid',
      },
      flags: {},
    });
    expect([profile, profileReason]).toEqual(['production', `apiKeys, hooks.connect in ${path}`]);
    expect(config.auth).toBeUndefined();
    expect(config.hooks).toEqual({
      secrets: [HOOK, 'second-hook-secret-16'],
      connect: 'http://app/connect',
      subscribe: 'https://app/subscribe',
      publish: 'https://app/publish',
      refresh: 'https://app/refresh',
      rpc: 'https://app/rpc',
      timeout: 1500,
      concurrency: 8,
      maxQueued: 100,
      cacheTtl: 30,
      forwardHeaders: ['X-Session', 'user-agent'],
      forwardCookies: ['sid'],
      namespaces: { chat: { subscribe: false } },
    });
  });

  it('needs a token key or a connect hook in production, and refuses bad hook settings naming them', () => {
    expect(() =>
      loadConfig({ env: { HERALD_API_KEYS: KEY, HERALD_HOOKS_SECRET: HOOK, HERALD_HOOKS_SUBSCRIBE_URL: 'http://app/s' }, flags: {} }),
    ).toThrow('or a connect hook: hooks.connect (or HERALD_HOOKS_CONNECT_URL)');
    expect(() => loadConfig({ env: { HERALD_API_KEYS: KEY, HERALD_HOOKS_CONNECT_URL: 'http://app/c' }, flags: {} })).toThrow(
      'hooks.secrets',
    );
    expect(() =>
      loadConfig({ env: { HERALD_API_KEYS: KEY, HERALD_HOOKS_SECRET: HOOK, HERALD_HOOKS_CONNECT_URL: 'ftp://app/c' }, flags: {} }),
    ).toThrow('hooks.connect');
    expect(() =>
      loadConfig({
        env: { HERALD_API_KEYS: KEY, HERALD_HOOKS_SECRET: HOOK, HERALD_HOOKS_CONNECT_URL: 'http://app/c', HERALD_HOOKS_TIMEOUT: '0' },
        flags: {},
      }),
    ).toThrow('hooks.timeout: must be an integer of ms from 1 to 60000');
  });

  it('a hooks section without a connect hook selects no profile', () => {
    const path = file({ hooks: { secrets: [HOOK], subscribe: 'http://app/s' } });
    expect(loadConfig({ file: path, env: {}, flags: {} }).profile).toBe('dev');
  });
});

describe('loadConfig: the Pusher and Mercure doors', () => {
  const APP_SECRET = 'app-secret-0123456789abcdef0123456789';
  const MERCURE_KEY = 'mercure-key-of-32-bytes-0123456789';

  it('replaces the file apps with the variables, keeping the rest of the file pusher section', () => {
    const path = file({
      pusher: { apps: [{ id: 'file', key: 'fk', secret: APP_SECRET }], activityTimeout: 30, webhookDelivery: { maxAttempts: 3 } },
    });
    const one = loadConfig({
      file: path,
      env: {
        HERALD_PUSHER_APP_ID: 'env',
        HERALD_PUSHER_APP_KEY: 'ek',
        HERALD_PUSHER_APP_SECRET: APP_SECRET,
        HERALD_PUSHER_WEBHOOK_URL: 'https://app.example/hooks',
      },
      flags: {},
    });
    expect(one.config.pusher).toEqual({
      apps: [{ id: 'env', key: 'ek', secret: APP_SECRET, webhooks: [{ url: 'https://app.example/hooks' }] }],
      activityTimeout: 30,
      webhookDelivery: { maxAttempts: 3 },
    });
    const several = loadConfig({
      file: path,
      env: { HERALD_PUSHER_APPS: JSON.stringify([{ id: 'a', key: 'ka', secret: APP_SECRET, clientEvents: false }]) },
      flags: {},
    });
    expect(several.config.pusher?.apps).toEqual([{ id: 'a', key: 'ka', secret: APP_SECRET, clientEvents: false }]);
    // Empty variables count as unset: the file's apps stay.
    expect(loadConfig({ file: path, env: { HERALD_PUSHER_APPS: '', HERALD_PUSHER_APP_ID: '' }, flags: {} }).config.pusher?.apps).toEqual([
      { id: 'file', key: 'fk', secret: APP_SECRET },
    ]);
  });

  it('sets Mercure fields one by one over the file, booleans as the other HERALD_* flags', () => {
    const path = file({ mercure: { jwtKey: MERCURE_KEY, subscriptions: true } });
    const { config, profile } = loadConfig({
      file: path,
      env: { HERALD_MERCURE_SUBSCRIBER_JWT_KEY: `${MERCURE_KEY}-s`, HERALD_MERCURE_ANONYMOUS: 'yes' },
      flags: {},
    });
    expect(profile).toBe('dev');
    expect(config.mercure).toEqual({ jwtKey: MERCURE_KEY, subscriberJwtKey: `${MERCURE_KEY}-s`, anonymous: false, subscriptions: true });
  });

  it('production takes door secrets of 32 bytes and more, and names the short ones', () => {
    const env = { HERALD_AUTH_SECRET: SECRET, HERALD_API_KEYS: KEY };
    const long = loadConfig({
      env: { ...env, HERALD_PUSHER_APPS: JSON.stringify([{ id: 'a', key: 'k', secret: 'é'.repeat(16) }]) },
      flags: {},
    });
    // 16 × "é" is 32 bytes of UTF-8 in 16 characters: bytes count.
    expect(long.profile).toBe('production');
    expect(() =>
      loadConfig({ env: { ...env, HERALD_PUSHER_APPS: JSON.stringify([{ id: 'a', key: 'k', secret: 'é'.repeat(15) }]) }, flags: {} }),
    ).toThrow(
      new ConfigError(
        'the production profile needs door secrets of at least 32 bytes (openssl rand -hex 32): pusher.apps.0.secret (30 bytes)',
      ),
    );
  });
});
