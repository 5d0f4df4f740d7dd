import { readFileSync } from 'node:fs';
import type { WebhookEventType } from '@herald/protocol';
import { MAX_TIMER_DELAY, MAX_TIMER_SECONDS, WEBHOOK_EVENT_TYPES } from '@herald/server';
import { z } from 'zod';
import { parseEngine } from './engine.js';
import { DoorVariableError, MERCURE_ENV, mercureSchema, PUSHER_APP_ENV, pusherAppsFromEnv, pusherSchema } from './door-config.js';
import { jsonErrorWithoutInput } from './json-error.js';
import { chooseProfile, isProfile, PROFILES, productionDoorProblems, securitySettings, type Profile } from './profile.js';

export type { Profile } from './profile.js';

const access = z.enum(['anonymous', 'authenticated', 'granted', 'owner', 'none']);
const port = z.int().min(0).max(65_535);
const positiveInt = z.int().min(1);
// Timers: Node runs a timer of more than 2³¹ − 1 ms after 1 ms, so longer delays are refused.
const TIMER_MS = `must be an integer of ms from 1 to ${MAX_TIMER_DELAY}`;
const timerMs = z.int({ error: TIMER_MS }).min(1, { error: TIMER_MS }).max(MAX_TIMER_DELAY, { error: TIMER_MS });
const HEADERS_TIMEOUT = 'must be an integer of ms from 1 to 30000';
const TIMER_SECONDS = `must be a number of seconds from 1 to ${MAX_TIMER_SECONDS}`;
const timerSeconds = z.number({ error: TIMER_SECONDS }).min(1, { error: TIMER_SECONDS }).max(MAX_TIMER_SECONDS, { error: TIMER_SECONDS });

const namespace = z.strictObject({
  subscribe: access,
  publish: access,
  history: access,
  presence: access,
  historySize: z.int().min(0).optional(),
  historyTtl: z.number().min(0).optional(),
  // Deltas for this namespace's channels, to clients that ask (docs/protocol.md, "Deltas").
  delta: z.boolean({ error: 'must be true or false' }).optional(),
});

const auth = z
  .strictObject({
    secret: z.string().min(32, 'must be at least 32 characters').optional(),
    publicKey: z.string().includes('BEGIN PUBLIC KEY', { error: 'must be a PEM public key (SPKI)' }).optional(),
    jwksUrl: z.url({ protocol: /^https?$/ }).optional(),
    algorithms: z.array(z.string()).min(1).optional(),
    audience: z.union([z.string(), z.array(z.string())]).optional(),
    issuer: z.union([z.string(), z.array(z.string())]).optional(),
    leeway: z.number().min(0).max(300).default(5),
    cookie: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .default('herald_token'),
  })
  .refine((a) => [a.secret, a.publicKey, a.jwksUrl].filter((k) => k !== undefined).length === 1, {
    error: 'needs exactly one of secret, publicKey, jwksUrl',
  });

/** A request rate (`{perSecond, burst}`), or `null`: no limit. */
const requestRate = z.strictObject({ perSecond: z.number().positive(), burst: positiveInt }).nullable().optional();
const requestKind = z.strictObject({ perIp: requestRate, perUser: requestRate }).optional();

const limits = z.strictObject({
  maxMessageBytes: positiveInt.optional(),
  maxBodyBytes: positiveInt.optional(),
  maxBatchMessages: positiveInt.optional(),
  // A cursor holds at most 128 channels (MAX_CURSOR_CHANNELS): an SSE stream over more could not resume.
  maxChannels: positiveInt.max(128).optional(),
  maxHeaderBytes: positiveInt.optional(),
  sendQueueBytes: positiveInt.optional(),
  maxResponseBytes: positiveInt.optional(),
  commandsPerSecond: z.number().positive().optional(),
  commandBurst: positiveInt.optional(),
  connectionsPerIp: positiveInt.optional(),
  connectionsPerUser: positiveInt.optional(),
  maxConnections: positiveInt.optional(),
  authTimeout: timerMs.optional(),
  pingInterval: timerMs.optional(),
  // At most the request timeout (30 s): Node refuses more.
  headersTimeout: z.int({ error: HEADERS_TIMEOUT }).min(1, { error: HEADERS_TIMEOUT }).max(30_000, { error: HEADERS_TIMEOUT }).optional(),
  ticketTtl: positiveInt.optional(),
  ticketsPerUser: positiveInt.optional(),
  ticketsPerSecond: z.number().positive().optional(),
  ticketBurst: positiveInt.optional(),
  // Unset ones take the profile's defaults (REQUEST_LIMIT_DEFAULTS in start.ts); null turns one off.
  requests: z.strictObject({ publish: requestKind, poll: requestKind, history: requestKind, ticket: requestKind }).optional(),
});

/** Compression on the wire (docs/operations.md#compression): `false` turns it off, an object tunes it. */
const compression = z.union([
  z.boolean(),
  z.strictObject({
    websocket: z.boolean().optional(),
    http: z.boolean().optional(),
    threshold: z.int({ error: 'must be an integer of bytes from 0' }).min(0, { error: 'must be an integer of bytes from 0' }).optional(),
    level: z
      .int({ error: 'must be an integer from 1 to 9' })
      .min(1, { error: 'must be an integer from 1 to 9' })
      .max(9, { error: 'must be an integer from 1 to 9' })
      .optional(),
    contextTakeover: z.boolean({ error: 'must be true or false' }).optional(),
    windowBits: z
      .int({ error: 'must be an integer from 9 to 15' })
      .min(9, { error: 'must be an integer from 9 to 15' })
      .max(15, { error: 'must be an integer from 9 to 15' })
      .optional(),
    memLevel: z
      .int({ error: 'must be an integer from 1 to 9' })
      .min(1, { error: 'must be an integer from 1 to 9' })
      .max(9, { error: 'must be an integer from 1 to 9' })
      .optional(),
  }),
]);

/** A proxy hook's URL, or `false`: off (in a namespace, where the top level's would apply). */
const hookUrl = z.union([z.url({ protocol: /^https?$/, error: 'must be an http(s) URL or false' }), z.literal(false)]);
const HOOK_TIMEOUT = 'must be an integer of ms from 1 to 60000';
const headerNames = z.array(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, 'must be a header or cookie name'));

/** Proxy hooks (see docs/hooks.md): the app decides connects, subscribes, publishes and refreshes, and answers rpc calls. */
const hooks = z.strictObject({
  secrets: z.array(z.string().min(16, 'hook secrets must be at least 16 characters')).min(1, 'needs at least one secret'),
  connect: hookUrl.optional(),
  subscribe: hookUrl.optional(),
  publish: hookUrl.optional(),
  refresh: hookUrl.optional(),
  rpc: hookUrl.optional(),
  timeout: z.int({ error: HOOK_TIMEOUT }).min(1, { error: HOOK_TIMEOUT }).max(60_000, { error: HOOK_TIMEOUT }).optional(),
  concurrency: positiveInt.max(10_000).optional(),
  maxQueued: positiveInt.max(1_000_000).optional(),
  forwardHeaders: headerNames.optional(),
  forwardCookies: headerNames.optional(),
  cacheTtl: z.number().min(0).max(MAX_TIMER_SECONDS).optional(),
  namespaces: z
    .record(
      z.string().regex(/^[A-Za-z0-9_\-.@/=+,!~$]*$/, 'namespace names use the channel alphabet, without ":"'),
      z.strictObject({
        subscribe: hookUrl.optional(),
        publish: hookUrl.optional(),
        rpc: hookUrl.optional(),
        cacheTtl: z.number().min(0).max(MAX_TIMER_SECONDS).optional(),
      }),
    )
    .optional(),
});

/** An engine as `parseEngine` reads it; its message names the problem (passwords redacted). */
const engine = z.string().superRefine((text, ctx) => {
  try {
    parseEngine(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

const redis = z.strictObject({
  prefix: z.string().default('herald:'),
  // Also a timer: each node re-stamps its members every third of it.
  memberTtl: timerSeconds.default(30),
  commandTimeout: timerMs.default(5000),
  connectTimeout: timerMs.default(10_000),
});

/** Webhooks (see docs/hooks.md); unset ones take the library's defaults (`WebhooksOptions`). */
const webhooks = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  secrets: z.array(z.string().min(16, 'webhook secrets must be at least 16 characters')).min(1),
  events: z
    .array(z.enum(WEBHOOK_EVENT_TYPES as [WebhookEventType, ...WebhookEventType[]]))
    .min(1)
    .optional(),
  batchSize: positiveInt.max(1000).optional(),
  maxBatchBytes: positiveInt.max(1_073_741_824).optional(),
  maxAttempts: positiveInt.max(1000).optional(),
  retryBase: timerMs.optional(),
  retryMax: timerMs.optional(),
  timeout: timerMs.max(600_000, { error: 'must be an integer of ms from 1 to 600000' }).optional(),
  lease: timerMs.optional(),
  concurrency: positiveInt.max(64).optional(),
  pollInterval: timerMs.max(60_000, { error: 'must be an integer of ms from 1 to 60000' }).optional(),
  maxQueued: positiveInt.max(1_000_000_000).optional(),
  maxDead: positiveInt.max(1_000_000_000).optional(),
  presenceDebounce: z
    .int({ error: `must be an integer of ms from 0 to ${MAX_TIMER_DELAY}` })
    .min(0, { error: `must be an integer of ms from 0 to ${MAX_TIMER_DELAY}` })
    .max(MAX_TIMER_DELAY, { error: `must be an integer of ms from 0 to ${MAX_TIMER_DELAY}` })
    .optional(),
});

/** ms `herald start` gives a stop after its shutdown delay before exiting anyway: the default `shutdownTimeout` is `shutdownDelay` plus this. */
export const SHUTDOWN_TIMEOUT_MARGIN = 30_000;

/** The configuration file's schema (also what `HERALD_*` variables and flags feed). */
export const configSchema = z
  .strictObject({
    port: port.default(3000),
    host: z.string().min(1).default('127.0.0.1'),
    historySize: z.int().min(0).default(1000),
    historyTtl: z.number().min(0).default(86_400),
    engine: engine.default('memory'),
    shutdownDelay: z.int().min(0).max(600_000).default(0),
    // Unset: shutdownDelay + SHUTDOWN_TIMEOUT_MARGIN (see shutdownTimeoutOf).
    shutdownTimeout: timerMs.optional(),
    idempotencyTtl: z.number().min(1).max(86_400).default(300),
    // Seconds a polling client stays a presence member after its last answer; 0 = never a member.
    pollPresenceGrace: z
      .number()
      .refine((v) => v === 0 || (v >= 1 && v <= 2_147_483), { error: 'must be 0 or a number of seconds from 1 to 2147483' })
      .default(30),
    // Client acknowledgements (docs/operations.md#client-acknowledgements): the engine's store's bounds.
    acks: z
      .strictObject({
        ttl: z.int().min(1).max(31_536_000).optional(),
        maxPerChannel: z.int().min(1).max(1_000_000).optional(),
        webhookInterval: timerMs.optional(),
      })
      .default({}),
    redis: redis.default({ prefix: 'herald:', memberTtl: 30, commandTimeout: 5000, connectTimeout: 10_000 }),
    auth: auth.optional(),
    apiKeys: z.array(z.string().min(16, 'API keys must be at least 16 characters')).optional(),
    cursorSecrets: z.array(z.string().min(32, 'cursor secrets must be at least 32 characters')).min(1).optional(),
    allowedOrigins: z.union([z.literal('*'), z.array(z.url())]).optional(),
    allowAnonymous: z.boolean().default(false),
    namespaces: z
      .record(z.string().regex(/^[A-Za-z0-9_\-.@/=+,!~$]*$/, 'namespace names use the channel alphabet, without ":"'), namespace)
      .default({}),
    limits: limits.default({}),
    hooks: hooks.optional(),
    webhooks: webhooks.optional(),
    // The Pusher Channels and Mercure front doors (docs/pusher.md, docs/mercure.md): off unless configured.
    pusher: pusherSchema(webhooks.omit({ url: true, secrets: true, events: true, presenceDebounce: true })).optional(),
    mercure: mercureSchema.optional(),
    // One pino line per HTTP request and per WebSocket session (see access-log.ts).
    accessLog: z.boolean().default(false),
    // permessage-deflate, gzip/br (docs/operations.md#compression): on unless false.
    compression: compression.default(true),
  })
  .check((ctx) => {
    const { shutdownTimeout, shutdownDelay } = ctx.value;
    // Compared only when both are valid: one problem, one message.
    if (ctx.issues.some((issue) => issue.path?.[0] === 'shutdownTimeout' || issue.path?.[0] === 'shutdownDelay')) return;
    if (shutdownTimeout !== undefined && shutdownTimeout <= shutdownDelay)
      ctx.issues.push({
        code: 'custom',
        input: shutdownTimeout,
        path: ['shutdownTimeout'],
        message: `must be more than shutdownDelay (${shutdownDelay} ms)`,
      });
  });

/** The hard deadline of a stop, in ms from the first signal: `shutdownTimeout`, or `shutdownDelay` + {@link SHUTDOWN_TIMEOUT_MARGIN}. */
export function shutdownTimeoutOf(config: Pick<HeraldConfig, 'shutdownDelay' | 'shutdownTimeout'>): number {
  return config.shutdownTimeout ?? config.shutdownDelay + SHUTDOWN_TIMEOUT_MARGIN;
}

/** A validated configuration. */
export type HeraldConfig = z.infer<typeof configSchema>;

/** A configuration problem, with a message fit for the terminal. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Raw = Record<string, unknown>;

/** A comma-separated variable's items, trimmed, empty ones dropped. */
const list = (v: string): string[] =>
  v
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

const ENV: Record<string, (value: string) => [string[], unknown]> = {
  HERALD_PORT: (v) => [['port'], Number(v)],
  HERALD_HOST: (v) => [['host'], v],
  HERALD_HISTORY_SIZE: (v) => [['historySize'], Number(v)],
  HERALD_HISTORY_TTL: (v) => [['historyTtl'], Number(v)],
  HERALD_POLL_PRESENCE_GRACE: (v) => [['pollPresenceGrace'], Number(v)],
  HERALD_ENGINE: (v) => [['engine'], v],
  HERALD_SHUTDOWN_DELAY: (v) => [['shutdownDelay'], Number(v)],
  HERALD_SHUTDOWN_TIMEOUT: (v) => [['shutdownTimeout'], Number(v)],
  HERALD_AUTH_SECRET: (v) => [['auth', 'secret'], v],
  HERALD_AUTH_PUBLIC_KEY: (v) => [['auth', 'publicKey'], v],
  HERALD_AUTH_JWKS_URL: (v) => [['auth', 'jwksUrl'], v],
  HERALD_AUTH_AUDIENCE: (v) => [['auth', 'audience'], v],
  HERALD_AUTH_ISSUER: (v) => [['auth', 'issuer'], v],
  HERALD_API_KEYS: (v) => [
    ['apiKeys'],
    v
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean),
  ],
  HERALD_CURSOR_SECRETS: (v) => [
    ['cursorSecrets'],
    v
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean),
  ],
  HERALD_ALLOWED_ORIGINS: (v) => [
    ['allowedOrigins'],
    v.trim() === '*'
      ? '*'
      : v
          .split(',')
          .map((o) => o.trim())
          .filter(Boolean),
  ],
  HERALD_WEBHOOKS_URL: (v) => [['webhooks', 'url'], v],
  HERALD_WEBHOOKS_SECRET: (v) => [['webhooks', 'secrets'], list(v)],
  HERALD_WEBHOOKS_EVENTS: (v) => [['webhooks', 'events'], list(v)],
  HERALD_WEBHOOKS_BATCH_SIZE: (v) => [['webhooks', 'batchSize'], Number(v)],
  HERALD_WEBHOOKS_MAX_ATTEMPTS: (v) => [['webhooks', 'maxAttempts'], Number(v)],
  HERALD_WEBHOOKS_RETRY_BASE: (v) => [['webhooks', 'retryBase'], Number(v)],
  HERALD_WEBHOOKS_RETRY_MAX: (v) => [['webhooks', 'retryMax'], Number(v)],
  HERALD_WEBHOOKS_TIMEOUT: (v) => [['webhooks', 'timeout'], Number(v)],
  HERALD_WEBHOOKS_LEASE: (v) => [['webhooks', 'lease'], Number(v)],
  HERALD_WEBHOOKS_CONCURRENCY: (v) => [['webhooks', 'concurrency'], Number(v)],
  HERALD_WEBHOOKS_MAX_QUEUED: (v) => [['webhooks', 'maxQueued'], Number(v)],
  HERALD_WEBHOOKS_MAX_DEAD: (v) => [['webhooks', 'maxDead'], Number(v)],
  HERALD_WEBHOOKS_PRESENCE_DEBOUNCE: (v) => [['webhooks', 'presenceDebounce'], Number(v)],
  HERALD_ALLOW_ANONYMOUS: (v) => [['allowAnonymous'], v === 'true' || v === '1'],
  HERALD_ACCESS_LOG: (v) => [['accessLog'], v === 'true' || v === '1'],
  HERALD_COMPRESSION: (v) => [['compression'], !(v === 'false' || v === '0' || v === 'off')],
  HERALD_HOOKS_SECRET: (v) => [['hooks', 'secrets'], list(v)],
  HERALD_HOOKS_CONNECT_URL: (v) => [['hooks', 'connect'], v],
  HERALD_HOOKS_SUBSCRIBE_URL: (v) => [['hooks', 'subscribe'], v],
  HERALD_HOOKS_PUBLISH_URL: (v) => [['hooks', 'publish'], v],
  HERALD_HOOKS_REFRESH_URL: (v) => [['hooks', 'refresh'], v],
  HERALD_HOOKS_RPC_URL: (v) => [['hooks', 'rpc'], v],
  HERALD_HOOKS_TIMEOUT: (v) => [['hooks', 'timeout'], Number(v)],
  HERALD_HOOKS_CONCURRENCY: (v) => [['hooks', 'concurrency'], Number(v)],
  HERALD_HOOKS_MAX_QUEUED: (v) => [['hooks', 'maxQueued'], Number(v)],
  HERALD_HOOKS_CACHE_TTL: (v) => [['hooks', 'cacheTtl'], Number(v)],
  HERALD_HOOKS_FORWARD_HEADERS: (v) => [['hooks', 'forwardHeaders'], list(v)],
  HERALD_HOOKS_FORWARD_COOKIES: (v) => [['hooks', 'forwardCookies'], list(v)],
  ...MERCURE_ENV,
};

/** The `HERALD_*` variables that configure the hub (HERALD_PROFILE chooses the profile, HERALD_LOG_LEVEL only sets logging). */
export const CONFIG_ENV_VARS = [...Object.keys(ENV), 'HERALD_PUSHER_APPS', ...PUSHER_APP_ENV];

function set(target: Raw, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Raw;
  node[path.at(-1)!] = value;
}

function merge(base: Raw, over: Raw): Raw {
  const out: Raw = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const existing = out[key];
    out[key] =
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      typeof existing === 'object' &&
      existing !== null &&
      !Array.isArray(existing)
        ? merge(existing as Raw, value as Raw)
        : value;
  }
  return out;
}

/**
 * Where the settings come from; later sources win: defaults < file < `PORT` < `HERALD_*` variables
 * < flags.
 */
export interface ConfigSources {
  /** Path of a JSON configuration file. */
  readonly file?: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  /** Settings given as command-line flags. */
  readonly flags: Raw;
  /** The profile asked for with `--profile`; wins over `HERALD_PROFILE`. */
  readonly profile?: Profile | undefined;
}

/** A loaded configuration, its profile, and why that profile was chosen (for the start-up banner). */
export interface LoadedConfig {
  readonly config: HeraldConfig;
  readonly profile: Profile;
  /** `--profile`, `HERALD_PROFILE`, the security settings found, or `default: no security configured`. */
  readonly profileReason: string;
}

/** A config issue as reported: where, and what is wrong. */
interface ReportedIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/**
 * An "Invalid input" of a union (`compression`: a boolean or an object) replaced by the issues of
 * the one branch that got past the value's type (the object's bad field), when there is one.
 */
function unionBranch(
  issue: ReportedIssue & { readonly code?: string; readonly errors?: readonly (readonly ReportedIssue[])[] },
): ReportedIssue[] {
  if (issue.code !== 'invalid_union' || issue.errors === undefined) return [issue];
  const inner = issue.errors.filter((branch) => branch.length > 0 && branch.every((i) => i.path.length > 0));
  if (inner.length !== 1) return [issue];
  return inner[0]!.map((i) => ({ path: [...issue.path, ...i.path], message: i.message }));
}

/**
 * Loads, merges and validates the configuration, and chooses the profile: the one asked for
 * (`sources.profile`, else `HERALD_PROFILE`), else `production` when the file or the variables
 * define security ({@link securitySettings}), else `dev`. Throws a {@link ConfigError} with every problem.
 */
export function loadConfig(sources: ConfigSources): LoadedConfig {
  let fromFile: Raw = {};
  if (sources.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(sources.file, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read ${sources.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    try {
      fromFile = JSON.parse(text) as Raw;
    } catch (error) {
      // The file holds secrets: the message names no part of its text.
      throw new ConfigError(`${sources.file} is not valid JSON: ${jsonErrorWithoutInput(error)}`);
    }
    if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile))
      throw new ConfigError(`${sources.file} must hold a JSON object`);
  }
  const fromEnv: Raw = {};
  for (const [name, read] of Object.entries(ENV)) {
    const value = sources.env[name];
    if (value !== undefined && value !== '') set(fromEnv, ...read(value));
  }
  try {
    // HERALD_PUSHER_APPS or HERALD_PUSHER_APP_*: the apps replace the file's (arrays replace).
    const apps = pusherAppsFromEnv(sources.env);
    if (apps !== undefined) set(fromEnv, ['pusher', 'apps'], apps);
  } catch (error) {
    if (error instanceof DoorVariableError) throw new ConfigError(error.message);
    throw error;
  }
  const fromProfileEnv = sources.env['HERALD_PROFILE'];
  let asked: Parameters<typeof chooseProfile>[0];
  if (sources.profile !== undefined) asked = { profile: sources.profile, source: '--profile' };
  else if (fromProfileEnv !== undefined && fromProfileEnv !== '') {
    if (!isProfile(fromProfileEnv)) throw new ConfigError(`HERALD_PROFILE must be ${PROFILES.join(' or ')}, got "${fromProfileEnv}"`);
    asked = { profile: fromProfileEnv, source: 'HERALD_PROFILE' };
  }
  const choice = chooseProfile(asked, securitySettings(fromFile, sources.file, sources.env));
  if ('refused' in choice) throw new ConfigError(choice.refused);
  const production = choice.profile === 'production';
  // PORT is what platforms (Heroku, Cloud Run, Render, Fly.io, …) set for the app to listen on: it
  // wins over the file, which cannot know it, and loses to HERALD_PORT and --port, which name Herald.
  // It is no HERALD_* setting: it never selects the production profile.
  const port = sources.env['PORT'];
  const fromPlatform: Raw = port === undefined || port === '' ? {} : { port: Number(port) };
  const parsed = configSchema.safeParse(merge(merge(merge(fromFile, fromPlatform), fromEnv), sources.flags));
  if (!parsed.success) {
    throw new ConfigError(
      `invalid configuration:\n${parsed.error.issues
        .flatMap(unionBranch)
        .map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('\n')}`,
    );
  }
  const config = parsed.data;
  if (production) {
    const missing: string[] = [];
    // The app's connect hook identifies clients in place of verified tokens.
    if (config.auth === undefined && (config.hooks?.connect === undefined || config.hooks.connect === false))
      missing.push(
        'a token key: auth.secret, auth.publicKey or auth.jwksUrl (or HERALD_AUTH_SECRET, HERALD_AUTH_PUBLIC_KEY, HERALD_AUTH_JWKS_URL), or a connect hook: hooks.connect (or HERALD_HOOKS_CONNECT_URL)',
      );
    if (config.apiKeys === undefined || config.apiKeys.length === 0) missing.push('an API key: apiKeys (or HERALD_API_KEYS)');
    if (missing.length > 0) throw new ConfigError(`the production profile needs ${missing.join(' and ')}`);
    const doors = productionDoorProblems(config.pusher, config.mercure);
    if (doors !== undefined) throw new ConfigError(doors);
  }
  return { config, profile: choice.profile, profileReason: choice.reason };
}
