import { HOOK_SIGNATURE_HEADER, HOOK_TIMESTAMP_HEADER, HOOK_TOLERANCE_SECONDS } from '@herald/protocol';
import { HeraldWebhookError } from './webhook-error.js';

/** Request headers as a plain record: Node's `req.headers` (lowercase names), or any casing. */
export type HeaderRecord = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * A request from the hub, as the app's framework hands it over: a fetch `Request` (its body is read
 * here, so it must not have been read before), or anything with `headers` and the raw `body`: an
 * Express `req` behind `express.raw({ type: 'application/json' })` (the body a `Uint8Array`
 * subclass), a Node `IncomingMessage`'s headers with the body read into a string, etc. The body must
 * be the bytes as received: a parsed object (`express.json()`) cannot be verified.
 */
export type SignedRequest =
  | Request
  | {
      readonly headers: Headers | HeaderRecord;
      readonly body: string | Uint8Array | ArrayBuffer;
    };

/** Options of {@link verifySignature}, {@link verifyHook} and {@link verifyWebhook}. */
export interface VerifyOptions {
  /**
   * Seconds either way the request's `herald-timestamp` may be from `now`: older (or newer) requests
   * are refused as replays. A finite number ≥ 0. @default 300 (`HOOK_TOLERANCE_SECONDS`)
   */
  readonly tolerance?: number | undefined;
  /** The clock: ms since the Unix epoch. @default Date.now */
  readonly now?: (() => number) | undefined;
}

const encoder = new TextEncoder();
const HEX_SIGNATURE = /^[0-9a-f]{64}$/;
const WHOLE_SECONDS = /^\d{1,12}$/;

/**
 * Checks that `request` was signed by the hub with one of `secrets` (several while rotating: the
 * hub signs with each of its secrets, the app accepts any of its own) within `tolerance`, and
 * resolves with its body as text. The signature header holds `v1=<hex>` entries, comma-separated;
 * each is HMAC-SHA256(secret, `${timestamp}.${body}`) in hex, over the body's exact bytes; entries
 * of another scheme are ignored. Comparison is constant-time.
 *
 * Rejects with a {@link HeraldWebhookError} for a request that fails a check, and throws a
 * `TypeError` (a setup mistake, not a bad request) for no secret, or a body that is not a string
 * or bytes, and a `RangeError` for a bad `tolerance`.
 */
export async function verifySignature(
  request: SignedRequest,
  secrets: string | readonly string[],
  options: VerifyOptions = {},
): Promise<string> {
  const keys = checkSecrets(secrets);
  const tolerance = options.tolerance ?? HOOK_TOLERANCE_SECONDS;
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new RangeError('tolerance must be a finite number of seconds ≥ 0');
  }
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new TypeError('now must be a function returning ms since the Unix epoch');

  const timestamp = header(request.headers, HOOK_TIMESTAMP_HEADER);
  const signature = header(request.headers, HOOK_SIGNATURE_HEADER);
  if (timestamp === undefined || signature === undefined) {
    throw new HeraldWebhookError('missing_signature', `the request has no ${HOOK_TIMESTAMP_HEADER} or ${HOOK_SIGNATURE_HEADER} header`);
  }
  if (!WHOLE_SECONDS.test(timestamp)) {
    throw new HeraldWebhookError('bad_signature', `${HOOK_TIMESTAMP_HEADER} must be whole seconds since the Unix epoch`);
  }
  const candidates = signature
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.startsWith('v1='))
    .map((entry) => entry.slice(3).toLowerCase())
    .filter((hex) => HEX_SIGNATURE.test(hex));
  if (candidates.length === 0) {
    throw new HeraldWebhookError('bad_signature', `${HOOK_SIGNATURE_HEADER} has no v1=<64 hex digits> signature`);
  }

  const body = await bodyBytes(request);
  const signed = concat(encoder.encode(`${timestamp}.`), body);
  let matched = false;
  for (const key of keys) {
    const expected = await hmacHex(key, signed);
    for (const candidate of candidates) if (equalConstantTime(candidate, expected)) matched = true;
  }
  if (!matched) throw new HeraldWebhookError('bad_signature', `no ${HOOK_SIGNATURE_HEADER} signature matches a secret`);

  const skew = Math.abs(now() / 1000 - Number(timestamp));
  if (!(skew <= tolerance)) {
    throw new HeraldWebhookError('stale_timestamp', `${HOOK_TIMESTAMP_HEADER} is ${Math.round(skew)} s from now, more than ${tolerance} s`);
  }

  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch (error) {
    throw new HeraldWebhookError('bad_body', 'the body is not UTF-8', { cause: error });
  }
}

function checkSecrets(secrets: string | readonly string[]): string[] {
  const list: unknown[] = typeof secrets === 'string' ? [secrets] : Array.isArray(secrets) ? [...(secrets as unknown[])] : [];
  if (list.length === 0 || !list.every((secret) => typeof secret === 'string' && secret !== '')) {
    throw new TypeError('secret must be a non-empty string or a non-empty array of them');
  }
  return list as string[];
}

/** A header's value (several values joined with `,`), or undefined when absent or empty. */
function header(headers: Headers | HeaderRecord, name: string): string | undefined {
  let value: string | readonly string[] | null | undefined;
  if (typeof (headers as Partial<Headers>).get === 'function') {
    value = (headers as Headers).get(name);
  } else if (typeof headers === 'object' && headers !== null) {
    const record = headers as HeaderRecord;
    value = record[name];
    if (value === undefined) {
      const key = Object.keys(record).find((candidate) => candidate.toLowerCase() === name);
      if (key !== undefined) value = record[key];
    }
  } else {
    throw new TypeError('headers must be a Headers object or a record of header values');
  }
  const joined = typeof value === 'string' ? value : Array.isArray(value) ? value.join(',') : '';
  const trimmed = joined.trim();
  return trimmed === '' ? undefined : trimmed;
}

async function bodyBytes(request: SignedRequest): Promise<Uint8Array> {
  if (typeof (request as Partial<Request>).arrayBuffer === 'function') {
    const fetchRequest = request as Request;
    if (fetchRequest.bodyUsed) throw new TypeError('the Request body was already read: verify before reading it');
    return new Uint8Array(await fetchRequest.arrayBuffer());
  }
  const body: unknown = (request as { body?: unknown }).body;
  if (typeof body === 'string') return encoder.encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new TypeError(
    "body must be the raw body (a string or bytes), not a parsed object: with Express use express.raw({ type: 'application/json' }) on this route",
  );
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const joined = new Uint8Array(a.byteLength + b.byteLength);
  joined.set(a, 0);
  joined.set(b, a.byteLength);
  return joined;
}

async function hmacHex(secret: string, data: Uint8Array<ArrayBuffer>): Promise<string> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const digest = new Uint8Array(await crypto.subtle.sign('HMAC', key, data));
  let hex = '';
  for (const byte of digest) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

/** Equal strings, in time that depends on their length only (both are 64 hex digits here). */
function equalConstantTime(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
