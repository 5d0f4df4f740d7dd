import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** The query parameters of Pusher's request signature; the rest of the query is signed with them. */
const AUTH_PARAMS = ['auth_key', 'auth_timestamp', 'auth_version', 'auth_signature', 'body_md5'] as const;

/** The app a signed request names: its key and the secret that signs its requests. */
export interface SigningApp {
  readonly key: string;
  readonly secret: string;
}

/** A request to check (see {@link checkPusherSignature}). */
export interface SignedRequest {
  /** The HTTP method, upper case. */
  readonly method: string;
  /** The path as signed: the URL's path from `/apps/` on (without the hub's mount path). */
  readonly path: string;
  /** The decoded query. */
  readonly params: URLSearchParams;
  /** The body as received, or undefined when there is none (a GET). */
  readonly body: string | undefined;
}

/** Why a request was refused: the HTTP status and the text Pusher's API answers. */
export interface SignatureRefusal {
  readonly status: 400 | 401;
  readonly message: string;
}

/** Lower-case hex HMAC-SHA256 of `text` under `secret` (Pusher's signatures of requests, webhooks and channel authorisations). */
export function pusherHmac(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text, 'utf8').digest('hex');
}

/**
 * The text a request's `auth_signature` signs: `METHOD\nPATH\nQUERY`, the query being every
 * parameter but `auth_signature`, keys lower-cased, sorted by key, as `key=value` (decoded) joined
 * with `&` (Pusher's HTTP API reference, "Generating authentication signatures"; the `pusher` SDK
 * builds it from its parameters the same way and sends that very text as the query). Only
 * meaningful for a query {@link ambiguousQuery} accepts.
 */
export function stringToSign(method: string, path: string, params: URLSearchParams): string {
  const pairs: [string, string][] = [];
  for (const [key, value] of params) if (key !== 'auth_signature') pairs.push([key.toLowerCase(), value]);
  pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${method}\n${path}\n${pairs.map(([key, value]) => `${key}=${value}`).join('&')}`;
}

/**
 * Why the query cannot be signed unambiguously, or undefined: a key given twice (compared
 * lower-cased, as signed: `AUTH_SIGNATURE` beside `auth_signature`, `Info` beside `info`), an empty
 * key, a key holding `&` or `=`, or a value holding `&` (decoded: `filter_by_prefix=presence-%26info%3Duser_count`
 * would sign as two parameters). The SDKs never send such queries.
 */
export function ambiguousQuery(params: URLSearchParams): string | undefined {
  const seen = new Set<string>();
  for (const [key, value] of params) {
    const lower = key.toLowerCase();
    if (lower === '' || /[&=]/.test(lower)) return `parameter name ${JSON.stringify(key.slice(0, 50))} is empty or holds & or =`;
    if (seen.has(lower)) return `parameter ${JSON.stringify(key.slice(0, 50))} is given more than once`;
    seen.add(lower);
    if (value.includes('&')) return `the value of ${JSON.stringify(key.slice(0, 50))} holds &`;
  }
  return undefined;
}

/** Whether two hex strings are equal, in time independent of where they differ. */
function sameHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Checks Pusher's request signature: `auth_key` is `app`'s key, `auth_version` is `1.0`,
 * `auth_timestamp` (Unix seconds) is within `windowSeconds` of `nowMs`, `body_md5` is the hex MD5
 * of the body (required when there is a body, refused when it differs), and `auth_signature` is
 * {@link pusherHmac} of {@link stringToSign} under the app's secret (compared in constant time).
 * Each parameter must appear once and the query must be unambiguous ({@link ambiguousQuery}).
 * Returns undefined when the request stands. The same as {@link checkPusherQuery} then
 * {@link checkPusherBody}.
 */
export function checkPusherSignature(
  app: SigningApp,
  request: SignedRequest,
  nowMs: number,
  windowSeconds: number,
): SignatureRefusal | undefined {
  return checkPusherQuery(app, request, nowMs, windowSeconds) ?? checkPusherBody(request.params, request.body);
}

/**
 * Everything of {@link checkPusherSignature} that needs no body (the signature covers `body_md5`):
 * a server checks it before it reads the body, then the body with {@link checkPusherBody}.
 */
export function checkPusherQuery(
  app: SigningApp,
  request: Omit<SignedRequest, 'body'>,
  nowMs: number,
  windowSeconds: number,
): SignatureRefusal | undefined {
  const { params } = request;
  for (const name of AUTH_PARAMS) {
    if (params.getAll(name).length > 1) return { status: 401, message: `${name} given more than once` };
  }
  const ambiguous = ambiguousQuery(params);
  if (ambiguous !== undefined) return { status: 401, message: `Invalid query: ${ambiguous}, so its signature would be ambiguous` };
  const key = params.get('auth_key');
  if (key === null) return { status: 401, message: 'Missing auth_key' };
  if (key !== app.key) return { status: 401, message: 'Invalid auth_key: the key is not this app’s' };
  if (params.get('auth_version') !== '1.0') return { status: 401, message: 'Invalid auth_version: only 1.0 is supported' };
  const timestamp = params.get('auth_timestamp');
  if (timestamp === null || !/^\d{1,15}$/.test(timestamp)) return { status: 401, message: 'Missing or malformed auth_timestamp' };
  const now = Math.floor(nowMs / 1000);
  if (Math.abs(now - Number(timestamp)) > windowSeconds) {
    return {
      status: 401,
      message: `Timestamp expired: Given timestamp (${timestamp}) not within ${windowSeconds}s of server time (${now})`,
    };
  }
  const signature = params.get('auth_signature');
  if (signature === null) return { status: 401, message: 'Missing auth_signature' };
  const expected = pusherHmac(app.secret, stringToSign(request.method, request.path, params));
  if (!sameHex(signature.toLowerCase(), expected)) {
    return {
      status: 401,
      message: `Invalid signature: you should have sent HmacSHA256Hex(${JSON.stringify(stringToSign(request.method, request.path, params))}, your_secret_key)`,
    };
  }
  return undefined;
}

/** The body half of {@link checkPusherSignature}: a body (not empty) needs `body_md5`, the hex MD5 of it. */
export function checkPusherBody(params: URLSearchParams, body: string | undefined): SignatureRefusal | undefined {
  if (body === undefined || body === '') return undefined;
  const md5 = params.get('body_md5');
  if (md5 === null) return { status: 401, message: 'Missing body_md5: a request with a body must sign it' };
  const actual = createHash('md5').update(body, 'utf8').digest('hex');
  if (md5.toLowerCase() !== actual) return { status: 401, message: 'Invalid body_md5: it is not the MD5 of the body received' };
  return undefined;
}
