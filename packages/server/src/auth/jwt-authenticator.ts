import { createHash, createPublicKey } from 'node:crypto';
import { ErrorCode } from '@herald/protocol';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { KeyObject } from 'node:crypto';
import { HeraldError } from '../errors.js';
import type { Authenticator } from './authenticator.js';
import { grantsFromClaims, type Identity } from './identity.js';

/** HMAC algorithms accepted with a shared secret. */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
/** Asymmetric algorithms accepted with a public key or a JWKS. */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
/** Shortest accepted HMAC secret, in bytes. */
export const MIN_SECRET_BYTES = 32;

/** Options of {@link JwtAuthenticator}: exactly one key source. */
export interface JwtOptions {
  /** Shared secret for HS256/384/512 (at least 32 bytes). */
  readonly secret?: string;
  /** PEM public key (SPKI) for RS/PS/ES/EdDSA. */
  readonly publicKey?: string;
  /** URL of a JWKS (from the configuration, never from a token). */
  readonly jwksUrl?: string;
  /** A JWKS document inline. */
  readonly jwks?: { keys: object[] };
  /** Algorithms to accept; must suit the key source. @default all of the key source's family */
  readonly algorithms?: readonly string[];
  /** Required `aud`. */
  readonly audience?: string | readonly string[];
  /** Required `iss`. */
  readonly issuer?: string | readonly string[];
  /** Seconds of clock skew tolerated for `exp` and `nbf`. @default 5 */
  readonly leeway?: number;
  /** Clock for tests, in milliseconds. @default Date.now */
  readonly now?: () => number;
}

const REASONS: [new (...args: never[]) => Error, string][] = [
  [errors.JWTExpired, 'token expired'],
  [errors.JWTClaimValidationFailed, 'token claim check failed'],
  [errors.JOSEAlgNotAllowed, 'token algorithm not allowed'],
  [errors.JWSSignatureVerificationFailed, 'token signature is invalid'],
  [errors.JWSInvalid, 'token is malformed'],
  [errors.JWTInvalid, 'token is malformed'],
  [errors.JWKSNoMatchingKey, 'no key matches the token'],
];

function reason(error: unknown): string {
  if (error instanceof errors.JWTClaimValidationFailed) return `token ${error.claim} check failed (${error.reason})`;
  for (const [type, text] of REASONS) if (error instanceof type) return text;
  return 'token is invalid';
}

/**
 * Verifies JWTs with jose: an algorithm allowlist tied to the key type (so an RS key can never
 * verify an HS token), `exp` required, `nbf`/`aud`/`iss` checked with a small leeway. The key comes
 * from the configuration only: `jku`, `x5u` and `jwk` headers are ignored, never fetched.
 */
export class JwtAuthenticator implements Authenticator {
  readonly #key: Promise<Uint8Array | KeyObject | JWTVerifyGetKey>;
  readonly #algorithms: string[];
  readonly #options: JwtOptions;

  constructor(options: JwtOptions) {
    const sources = [options.secret, options.publicKey, options.jwksUrl, options.jwks].filter((s) => s !== undefined);
    if (sources.length !== 1) throw new TypeError('JWT auth needs exactly one of secret, publicKey, jwksUrl, jwks');
    this.#options = options;
    const family: readonly string[] = options.secret !== undefined ? HMAC_ALGORITHMS : ASYMMETRIC_ALGORITHMS;
    const algorithms = options.algorithms ?? family;
    const foreign = algorithms.filter((a) => !family.includes(a));
    if (algorithms.length === 0 || foreign.length > 0) {
      throw new TypeError(`algorithms ${foreign.join(', ') || '(none)'} do not fit the configured ${options.secret !== undefined ? 'secret (HS*)' : 'public key (RS*/PS*/ES*/EdDSA)'}`);
    }
    this.#algorithms = [...algorithms];
    if (options.secret !== undefined) {
      const bytes = new TextEncoder().encode(options.secret);
      if (bytes.length < MIN_SECRET_BYTES) throw new RangeError(`the HMAC secret must be at least ${MIN_SECRET_BYTES} bytes`);
      this.#key = Promise.resolve(bytes);
    } else if (options.publicKey !== undefined) {
      // A KeyObject serves every algorithm its type supports (jose refuses an algorithm that does
      // not fit the key, so an RSA key never verifies an EC or HMAC token).
      const pem = options.publicKey;
      this.#key = Promise.resolve().then(() => createPublicKey(pem));
    } else if (options.jwksUrl !== undefined) {
      this.#key = Promise.resolve(createRemoteJWKSet(new URL(options.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000 }));
    } else {
      this.#key = Promise.resolve(createLocalJWKSet(options.jwks as Parameters<typeof createLocalJWKSet>[0]));
    }
    // A bad public key is reported when used; keep the rejection from going unhandled meanwhile.
    this.#key.catch(() => undefined);
  }

  async verify(token: string): Promise<Identity> {
    if (typeof token !== 'string' || token.length === 0 || token.length > 16_384) {
      throw new HeraldError(ErrorCode.Unauthorized, 'token is malformed');
    }
    const options = this.#options;
    try {
      const key = await this.#key;
      const { payload } = await jwtVerify(token, key as Uint8Array, {
        algorithms: this.#algorithms,
        requiredClaims: ['exp'],
        clockTolerance: options.leeway ?? 5,
        ...(options.audience !== undefined && { audience: options.audience as string | string[] }),
        ...(options.issuer !== undefined && { issuer: options.issuer as string | string[] }),
        ...(options.now !== undefined && { currentDate: new Date(options.now()) }),
      });
      const user = typeof payload.sub === 'string' && payload.sub.length > 0 ? payload.sub : null;
      // The session ends when verification would start failing: `exp` plus the leeway.
      return { user, authenticated: true, expiresAt: (payload.exp! + (options.leeway ?? 5)) * 1000, grants: grantsFromClaims(payload) };
    } catch (error) {
      // An expired token gets its own code: the client should refresh it, not give up.
      throw new HeraldError(error instanceof errors.JWTExpired ? ErrorCode.TokenExpired : ErrorCode.Unauthorized, reason(error), { cause: error });
    }
  }
}

/** A short, non-reversible fingerprint of a token for logs (never the token itself). */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 10);
}
