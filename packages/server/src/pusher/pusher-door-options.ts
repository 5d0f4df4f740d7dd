import type { PusherAppOptions, PusherOptions } from './pusher-options.js';

/** One Pusher app with its defaults filled in. */
export interface PusherApp {
  readonly id: string;
  readonly key: string;
  readonly secret: string;
  readonly clientEvents: boolean;
  readonly clientEventsPerSecond: number;
  readonly options: PusherAppOptions;
}

/** {@link PusherOptions} checked, with defaults. */
export interface ResolvedPusherOptions {
  readonly apps: readonly PusherApp[];
  /** Seconds. */
  readonly activityTimeout: number;
  /** Seconds. */
  readonly pongTimeout: number;
  /** Seconds. */
  readonly timestampWindow: number;
}

const APP_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** A key is a path segment of `/app/{key}`: no `/`, `?`, `#`, `%` or white space. */
const APP_KEY = /^[^/?#%\s]{1,256}$/;

function integerIn(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new RangeError(`${name} must be an integer from ${min} to ${max}`);
  return value;
}

/**
 * Checks the `pusher` options (before anything starts) and fills in the defaults. Wrong types and
 * duplicate ids or keys throw a `TypeError`, numbers out of range a `RangeError`, naming the option.
 */
export function resolvePusherOptions(options: PusherOptions): ResolvedPusherOptions {
  if (typeof options !== 'object' || options === null || !Array.isArray(options.apps) || options.apps.length === 0)
    throw new TypeError('pusher.apps must be a non-empty array of apps');
  const ids = new Set<string>();
  const keys = new Set<string>();
  const apps = options.apps.map((app: PusherAppOptions, i): PusherApp => {
    const at = `pusher.apps[${i}]`;
    const given: unknown = app;
    if (typeof given !== 'object' || given === null) throw new TypeError(`${at} must be an object`);
    if (typeof app.id !== 'string' || !APP_ID.test(app.id)) throw new TypeError(`${at}.id must be 1–64 characters from A–Z a–z 0–9 _ -`);
    if (typeof app.key !== 'string' || !APP_KEY.test(app.key))
      throw new TypeError(`${at}.key must be 1–256 characters without / ? # % or white space`);
    if (typeof app.secret !== 'string' || app.secret === '') throw new TypeError(`${at}.secret must be a non-empty string`);
    if (ids.has(app.id)) throw new TypeError(`${at}.id "${app.id}" is used by another app`);
    if (keys.has(app.key)) throw new TypeError(`${at}.key "${app.key}" is used by another app`);
    ids.add(app.id);
    keys.add(app.key);
    if (app.clientEvents !== undefined && typeof app.clientEvents !== 'boolean')
      throw new TypeError(`${at}.clientEvents must be a boolean`);
    const rate = app.clientEventsPerSecond;
    if (rate !== undefined && (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0 || rate > 10_000))
      throw new RangeError(`${at}.clientEventsPerSecond must be a number > 0 and at most 10000`);
    if (app.webhooks !== undefined && !Array.isArray(app.webhooks)) throw new TypeError(`${at}.webhooks must be an array`);
    return {
      id: app.id,
      key: app.key,
      secret: app.secret,
      clientEvents: app.clientEvents ?? true,
      clientEventsPerSecond: rate ?? 10,
      options: app,
    };
  });
  return {
    apps,
    activityTimeout: integerIn('pusher.activityTimeout', options.activityTimeout, 120, 1, 3600),
    pongTimeout: integerIn('pusher.pongTimeout', options.pongTimeout, 30, 1, 600),
    timestampWindow: integerIn('pusher.timestampWindow', options.timestampWindow, 600, 1, 86_400),
  };
}
