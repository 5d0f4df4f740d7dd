import { randomBytes } from 'node:crypto';
import { startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { SignJWT, type CryptoKey, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { afterAll, beforeAll, expect } from 'vitest';
import type { HeraldServerOptions, Logger } from '@herald/server';

/**
 * Shared state and helpers of the security suite. Vitest runs each test file in its own process, so
 * this module's registries (log lines, secrets used) belong to one file; {@link guardSuite} checks
 * them once the file is done.
 */

/** Every log call of every hub of this file, serialised (errors expanded: message, stack, cause). */
export const logLines: string[] = [];
/** The subset of {@link logLines} logged at `error` level: a non-HeraldError escaped a handler. */
export const errorLines: string[] = [];
const secrets = new Set<string>();

function serialise(level: string, args: unknown[]): string {
  try {
    return JSON.stringify([level, ...args], (_key, value: unknown) =>
      value instanceof Error
        ? { ...Object.fromEntries(Object.entries(value)), name: value.name, message: value.message, stack: value.stack, cause: value.cause }
        : value,
    );
  } catch {
    return `${level} ${args.map(String).join(' ')}`;
  }
}

/** A logger that records every call (see {@link logLines}). */
export const recordingLogger: Logger = {
  debug: (...args: unknown[]) => void logLines.push(serialise('debug', args)),
  info: (...args: unknown[]) => void logLines.push(serialise('info', args)),
  warn: (...args: unknown[]) => void logLines.push(serialise('warn', args)),
  error: (...args: unknown[]) => {
    const line = serialise('error', args);
    logLines.push(line);
    errorLines.push(line);
  },
};

/** Registers tokens, tickets or keys that must never appear in a log line; returns the first. */
export function remember<T extends string>(secret: T, ...more: string[]): T {
  for (const s of [secret, ...more]) if (s.length >= 8) secrets.add(s);
  return secret;
}

/** Secrets (or, for JWTs, their signature part) found in `lines`. */
export function leakedSecrets(lines: readonly string[]): string[] {
  const found: string[] = [];
  for (const secret of secrets) {
    const signature = secret.split('.')[2];
    const needles = signature !== undefined && signature.length >= 16 ? [secret, signature] : [secret];
    if (lines.some((line) => needles.some((needle) => line.includes(needle)))) found.push(secret);
  }
  return found;
}

/**
 * Call once at the top of a test file: records uncaught errors in the test process (which hosts
 * every hub) and, after the last test, asserts none happened, no hub logged at error level, and no
 * token, ticket or API key used by the file appears in any log line.
 */
export function guardSuite(): void {
  const uncaught: unknown[] = [];
  const record = (error: unknown): void => void uncaught.push(error);
  beforeAll(() => {
    process.on('uncaughtException', record);
    process.on('unhandledRejection', record);
  });
  afterAll(() => {
    process.off('uncaughtException', record);
    process.off('unhandledRejection', record);
    expect(uncaught).toEqual([]);
    expect(errorLines).toEqual([]);
    expect(leakedSecrets(logLines)).toEqual([]);
  });
}

/** A 32-byte HMAC secret (the shortest accepted), random per file. */
export const HS_SECRET = remember(randomBytes(24).toString('base64url'));

/** Seconds since the Unix epoch for a time in milliseconds. */
export const seconds = (ms: number): number => Math.floor(ms / 1000);

/** Signs `claims` (exp is the caller's business) with the HS secret or another key; registers the token. */
export async function signToken(
  claims: JWTPayload,
  options: { key?: Uint8Array | CryptoKey; alg?: string; header?: Partial<JWTHeaderParameters> } = {},
): Promise<string> {
  const key = options.key ?? new TextEncoder().encode(HS_SECRET);
  const token = await new SignJWT(claims).setProtectedHeader({ ...options.header, alg: options.alg ?? 'HS256' }).sign(key);
  return remember(token);
}

/** An HS256 token for `sub` valid for an hour (of the real clock unless `now` is given), with extra claims. */
export function tokenFor(sub: string, extra: JWTPayload = {}, now: number = Date.now()): Promise<string> {
  return signToken({ sub, exp: seconds(now) + 3600, ...extra });
}

/** base64url of a JSON value (for hand-made tokens). */
export const b64json = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Starts a hub (memory engine unless told otherwise) that logs to {@link recordingLogger}. */
export function startHub(options: HeraldServerOptions = {}): Promise<TestHub> {
  return startTestHub({ logger: recordingLogger, ...options });
}

/** Authorization header for a token. */
export const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });

/**
 * Sends a ping and resolves with every frame received from `from` (an index into the client's
 * frames) up to its reply. Frames the hub answers at once (decoding errors) and anything caused by
 * commands whose replies were already awaited arrive before the ping's reply.
 */
export async function framesUpToPing(client: WsTestClient, from: number): Promise<any[]> {
  const reply = await client.request({ type: 'ping' });
  const frames = client.frames.items;
  return frames.slice(from, frames.indexOf(reply));
}

/** Frames that carry data about `channel` (messages, members, positions): a denial carries none. */
export function leaksAbout(frames: readonly any[], channel: string): any[] {
  return frames.filter(
    (f) =>
      f.channel === channel || f.messages !== undefined || f.members !== undefined || f.position !== undefined || f.cursor !== undefined,
  );
}
