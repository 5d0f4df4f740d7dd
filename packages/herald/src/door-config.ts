import { createPublicKey } from 'node:crypto';
import { MERCURE_ALGORITHMS, PUSHER_WEBHOOK_EVENTS, type HeraldServerOptions } from '@herald/server';
import { z } from 'zod';
import { jsonErrorWithoutInput } from './json-error.js';

type PusherOptions = NonNullable<HeraldServerOptions['pusher']>;
type MercureOptions = NonNullable<HeraldServerOptions['mercure']>;
type MercureJwtAlgorithm = NonNullable<MercureOptions['jwtAlgorithm']>;

/** Bytes the production profile requires of a Pusher app secret and of a Mercure HMAC key (an HS256 key no shorter than its hash). */
export const MIN_DOOR_SECRET_BYTES = 32;

/** An integer of seconds from 1 to `max` (the library's ranges: resolvePusherOptions). */
function seconds(max: number) {
  const message = `must be an integer of seconds from 1 to ${max}`;
  return z.int({ error: message }).min(1, { error: message }).max(max, { error: message });
}

const pusherApp = z.strictObject({
  // The id is a Herald channel namespace (`{id}:C`) and a path segment (`/apps/{id}/…`).
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 characters from A–Z a–z 0–9 _ -'),
  // The key is a path segment of `/app/{key}` (the library's own rule, resolvePusherOptions).
  key: z.string().regex(/^[^/?#%\s]{1,256}$/, 'must be 1–256 characters without / ? # % or white space'),
  secret: z.string().min(1, 'must not be empty'),
  clientEvents: z.boolean().optional(),
  clientEventsPerSecond: z
    .number({ error: 'must be a number from 1 to 10000' })
    .min(1, 'must be a number from 1 to 10000')
    .max(10_000, 'must be a number from 1 to 10000')
    .optional(),
  webhooks: z
    .array(
      z.strictObject({
        url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
        events: z.array(z.enum(PUSHER_WEBHOOK_EVENTS)).min(1).optional(),
      }),
    )
    .optional(),
});

/**
 * `pusher` in the configuration file: {@link PusherOptions} less its code-only `webhookQueue` (see
 * docs/pusher.md#configuration). `webhookDelivery` is the schema of Herald's own `webhooks` delivery
 * fields, which config.ts owns.
 */
export const pusherSchema = <Delivery extends z.ZodType>(webhookDelivery: Delivery) =>
  z
    .strictObject({
      apps: z.array(pusherApp).min(1, 'needs at least one app'),
      // How every app endpoint's webhooks are delivered (batch size, retries, …), as Herald's `webhooks`.
      webhookDelivery: webhookDelivery.optional(),
      activityTimeout: seconds(3600).optional(),
      // How long the hub waits for a pong after its own `pusher:ping` (the WebSocket door's option).
      pongTimeout: seconds(600).optional(),
      timestampWindow: seconds(86_400).optional(),
    })
    .check((ctx) => {
      // Ids and keys each name one app: `/app/{key}` and `/apps/{id}` would be ambiguous.
      for (const field of ['id', 'key'] as const) {
        const seen = new Map<string, number>();
        ctx.value.apps.forEach((app, index) => {
          const first = seen.get(app[field]);
          if (first === undefined) seen.set(app[field], index);
          else
            ctx.issues.push({
              code: 'custom',
              input: app[field],
              path: ['apps', index, field],
              message: `"${app[field]}" is also the ${field} of pusher.apps.${first}: each app needs its own`,
            });
        });
      }
    });

const mercureKey = z.string().min(1, 'must not be empty');
const mercureAlgorithm = z.enum(MERCURE_ALGORITHMS);

/** The EC curve each ES* algorithm needs (Node's names). */
const EC_CURVES: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };
const CURVE_NAMES: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };

/** Why `key` cannot verify `algorithm`, or undefined when it fits. */
function keyProblem(key: string, algorithm: MercureJwtAlgorithm): string | undefined {
  const pem = key.includes('-----BEGIN');
  if (algorithm.startsWith('HS'))
    return pem ? `is a PEM key, but the algorithm is ${algorithm}: set the algorithm to RS* or ES* for a public key` : undefined;
  const wanted = algorithm.startsWith('RS') ? `a PEM RSA public key` : `a PEM EC ${CURVE_NAMES[algorithm]} public key`;
  let parsed;
  try {
    parsed = createPublicKey(key);
  } catch {
    return `must be ${wanted} for ${algorithm}`;
  }
  if (algorithm.startsWith('RS') && parsed.asymmetricKeyType !== 'rsa') return `must be ${wanted} for ${algorithm}`;
  if (algorithm.startsWith('ES') && (parsed.asymmetricKeyType !== 'ec' || parsed.asymmetricKeyDetails?.namedCurve !== EC_CURVES[algorithm]))
    return `must be ${wanted} for ${algorithm}`;
  return undefined;
}

/**
 * The key and algorithm each side of the Mercure door verifies with: `publisherJwtKey` (else
 * `jwtKey`) with `publisherJwtAlgorithm` (else `jwtAlgorithm`, else HS256), the same for subscribers.
 * `field` names the configuration field the key came from.
 */
export function mercureKeys(
  mercure: MercureOptions,
): { side: 'publisher' | 'subscriber'; field: string; key: string | undefined; algorithm: MercureJwtAlgorithm }[] {
  const base = mercure.jwtAlgorithm ?? 'HS256';
  return [
    {
      side: 'publisher',
      field: mercure.publisherJwtKey !== undefined ? 'publisherJwtKey' : 'jwtKey',
      key: mercure.publisherJwtKey ?? mercure.jwtKey,
      algorithm: mercure.publisherJwtAlgorithm ?? base,
    },
    {
      side: 'subscriber',
      field: mercure.subscriberJwtKey !== undefined ? 'subscriberJwtKey' : 'jwtKey',
      key: mercure.subscriberJwtKey ?? mercure.jwtKey,
      algorithm: mercure.subscriberJwtAlgorithm ?? base,
    },
  ];
}

/** `mercure` in the configuration file: exactly {@link MercureOptions} (see docs/mercure.md#configuration). */
export const mercureSchema = z
  .strictObject({
    jwtKey: mercureKey.optional(),
    jwtAlgorithm: mercureAlgorithm.optional(),
    publisherJwtKey: mercureKey.optional(),
    publisherJwtAlgorithm: mercureAlgorithm.optional(),
    subscriberJwtKey: mercureKey.optional(),
    subscriberJwtAlgorithm: mercureAlgorithm.optional(),
    anonymous: z.boolean().optional(),
    subscriptions: z.boolean().optional(),
  })
  .check((ctx) => {
    const [publisher, subscriber] = mercureKeys(ctx.value);
    if (publisher!.key === undefined)
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        path: [],
        message: "needs jwtKey or publisherJwtKey: the key that verifies publishers' JWTs",
      });
    if (subscriber!.key === undefined && ctx.value.anonymous !== true)
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        path: [],
        message: "needs jwtKey or subscriberJwtKey (the key that verifies subscribers' JWTs), or anonymous: true",
      });
    // One message per key field, even when both sides use it.
    const reported = new Set<string>();
    for (const { field, key, algorithm } of [publisher!, subscriber!]) {
      if (key === undefined || reported.has(field)) continue;
      const problem = keyProblem(key, algorithm);
      if (problem === undefined) continue;
      reported.add(field);
      ctx.issues.push({ code: 'custom', input: '[redacted]', path: [field], message: problem });
    }
  }) satisfies z.ZodType<MercureOptions>;

/** A variable's JSON, or a {@link DoorVariableError} naming the variable (and no part of its value). */
function json(name: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new DoorVariableError(`${name} is not valid JSON: ${jsonErrorWithoutInput(error)}`);
  }
}

/** A `HERALD_PUSHER_*` / `HERALD_MERCURE_*` variable problem; config.ts turns it into a ConfigError. */
export class DoorVariableError extends Error {
  override readonly name = 'DoorVariableError';
}

const flag = (v: string): boolean => v === 'true' || v === '1';

/** The Mercure variables: each sets one field of `mercure` (path, value). */
export const MERCURE_ENV: Record<string, (value: string) => [string[], unknown]> = {
  HERALD_MERCURE_JWT_KEY: (v) => [['mercure', 'jwtKey'], v],
  HERALD_MERCURE_JWT_ALGORITHM: (v) => [['mercure', 'jwtAlgorithm'], v],
  HERALD_MERCURE_PUBLISHER_JWT_KEY: (v) => [['mercure', 'publisherJwtKey'], v],
  HERALD_MERCURE_PUBLISHER_JWT_ALGORITHM: (v) => [['mercure', 'publisherJwtAlgorithm'], v],
  HERALD_MERCURE_SUBSCRIBER_JWT_KEY: (v) => [['mercure', 'subscriberJwtKey'], v],
  HERALD_MERCURE_SUBSCRIBER_JWT_ALGORITHM: (v) => [['mercure', 'subscriberJwtAlgorithm'], v],
  HERALD_MERCURE_ANONYMOUS: (v) => [['mercure', 'anonymous'], flag(v)],
  HERALD_MERCURE_SUBSCRIPTIONS: (v) => [['mercure', 'subscriptions'], flag(v)],
};

/** The variables of one Pusher app; `HERALD_PUSHER_APPS` holds several as JSON. */
export const PUSHER_APP_ENV = [
  'HERALD_PUSHER_APP_ID',
  'HERALD_PUSHER_APP_KEY',
  'HERALD_PUSHER_APP_SECRET',
  'HERALD_PUSHER_WEBHOOK_URL',
] as const;

/** Every variable of the doors. */
export const DOOR_ENV_VARS = ['HERALD_PUSHER_APPS', ...PUSHER_APP_ENV, ...Object.keys(MERCURE_ENV)];

/**
 * `pusher.apps` from the variables, or undefined when none is set: `HERALD_PUSHER_APPS` (a JSON
 * array of apps), or one app from `HERALD_PUSHER_APP_ID`, `_KEY`, `_SECRET` (all three) and
 * `HERALD_PUSHER_WEBHOOK_URL` (optional). Either replaces the file's `pusher.apps` whole; both at
 * once are refused, and so is an incomplete app. Throws {@link DoorVariableError}.
 */
export function pusherAppsFromEnv(env: Readonly<Record<string, string | undefined>>): unknown[] | undefined {
  const set = (name: string): string | undefined => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const apps = set('HERALD_PUSHER_APPS');
  const one = PUSHER_APP_ENV.filter((name) => set(name) !== undefined);
  if (apps !== undefined && one.length > 0)
    throw new DoorVariableError(`HERALD_PUSHER_APPS and ${one.join(', ')} are both set: use one way to configure the Pusher apps`);
  if (apps !== undefined) {
    const value = json('HERALD_PUSHER_APPS', apps);
    if (!Array.isArray(value))
      throw new DoorVariableError('HERALD_PUSHER_APPS must be a JSON array of apps: [{"id": …, "key": …, "secret": …}]');
    return value as unknown[];
  }
  if (one.length === 0) return undefined;
  const missing = PUSHER_APP_ENV.slice(0, 3).filter((name) => set(name) === undefined);
  if (missing.length > 0)
    throw new DoorVariableError(`${one.join(', ')} set without ${missing.join(', ')}: one Pusher app needs all three`);
  const webhook = set('HERALD_PUSHER_WEBHOOK_URL');
  return [
    {
      id: set('HERALD_PUSHER_APP_ID'),
      key: set('HERALD_PUSHER_APP_KEY'),
      secret: set('HERALD_PUSHER_APP_SECRET'),
      ...(webhook !== undefined && { webhooks: [{ url: webhook }] }),
    },
  ];
}

/** Where each door secret of `config` is configured, with its length in bytes. */
function doorSecrets(pusher: PusherOptions | undefined, mercure: MercureOptions | undefined): { field: string; bytes: number }[] {
  const found: { field: string; bytes: number }[] = [];
  pusher?.apps.forEach((app, i) => found.push({ field: `pusher.apps.${i}.secret`, bytes: Buffer.byteLength(app.secret) }));
  if (mercure !== undefined) {
    const seen = new Set<string>();
    for (const { field, key, algorithm } of mercureKeys(mercure)) {
      if (key === undefined || !algorithm.startsWith('HS') || seen.has(field)) continue;
      seen.add(field);
      found.push({ field: `mercure.${field}`, bytes: Buffer.byteLength(key) });
    }
  }
  return found;
}

/**
 * The door secrets shorter than {@link MIN_DOOR_SECRET_BYTES}: each Pusher app secret, and each
 * Mercure key verified with an HS* algorithm. The production profile refuses to start with any; the
 * dev profile warns.
 */
export function shortDoorSecrets(pusher: PusherOptions | undefined, mercure: MercureOptions | undefined): string[] {
  return doorSecrets(pusher, mercure)
    .filter((s) => s.bytes < MIN_DOOR_SECRET_BYTES)
    .map((s) => `${s.field} (${s.bytes} bytes)`);
}

/**
 * The start-up lines naming the doors that are on (no secret in them): `Pusher apps: app1
 * (/app/key1), app2 (/app/key2)` and `Mercure: /.well-known/mercure (…)`.
 */
export function describeDoors(pusher: PusherOptions | undefined, mercure: MercureOptions | undefined): string[] {
  const lines: string[] = [];
  if (pusher !== undefined)
    lines.push(`Pusher apps: ${pusher.apps.map((app) => `${app.id} (/app/${app.key})`).join(', ')}; HTTP API /apps/{id}/…`);
  if (mercure !== undefined) {
    const [publisher, subscriber] = mercureKeys(mercure);
    const subscribers =
      subscriber!.key === undefined
        ? 'anonymous subscribers only'
        : `subscribers ${subscriber!.algorithm}${mercure.anonymous === true ? ' or anonymous' : ''}`;
    lines.push(
      `Mercure: /.well-known/mercure (publishers ${publisher!.algorithm}, ${subscribers}${mercure.subscriptions === true ? ', subscriptions API on' : ''})`,
    );
  }
  return lines;
}
