import { createHash, createPublicKey } from 'node:crypto';
import { ErrorCode } from '@herald/protocol';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { KeyObject } from 'node:crypto';
import { HeraldError } from '../errors.js';
import type { Authenticator } from './authenticator.js';
import { adminFromClaims, grantsFromClaims, type Identity } from './identity.js';

/** HMAC algorithms accepted with a shared secret. */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
/** Asymmetric algorithms accepted with a public key or a JWKS. */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
/** Shortest accepted HMAC secret, in bytes. */
export const MIN_SECRET_BYTES = 32;

/** Options of {@link JwtAuthenticator}: exactly one key source. */
export interface JwtOptions {
  /** Shared secret for HS256/384/512 (at least 32 bytes). */
  readonly secret?: string | undefined;
  /** PEM public key (SPKI) for RS/PS/ES/EdDSA; read at construction (`TypeError` when it is not one). */
  readonly publicKey?: string | undefined;
  /** URL of a JWKS (from the configuration, never from a token). */
  readonly jwksUrl?: string | undefined;
  /** A JWKS document inline. */
  readonly jwks?: { keys: object[] } | undefined;
  /**
   * Algorithms to accept; must suit the key: HS* for a secret; for a public key those of its type
   * (RSA: RS*, PS*; RSA-PSS: PS*; EC: its curve's ES*; Ed25519/Ed448: EdDSA); RS/PS/ES/EdDSA for a JWKS.
   * @default HS256, HS384, HS512 for a secret; RS256 for an RSA key, PS256 for an RSA-PSS key, the
   * curve's algorithm for an EC key, EdDSA for an Ed25519/Ed448 key; every asymmetric one for a JWKS
   */
  readonly algorithms?: readonly string[] | undefined;
  /** Required `aud`. */
  readonly audience?: string | readonly string[] | undefined;
  /** Required `iss`. */
  readonly issuer?: string | readonly string[] | undefined;
  /** Seconds of clock skew tolerated for `exp` and `nbf`. @default 5 */
  readonly leeway?: number | undefined;
  /** Clock for tests, in milliseconds. @default Date.now */
  readonly now?: (() => number) | undefined;
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
    const publicKey = options.publicKey === undefined ? undefined : readPublicKey(options.publicKey);
    const { fits, fallback, name } =
      publicKey !== undefined
        ? algorithmsOf(publicKey)
        : options.secret !== undefined
          ? { fits: HMAC_ALGORITHMS, fallback: HMAC_ALGORITHMS, name: 'secret (HS*)' }
          : { fits: ASYMMETRIC_ALGORITHMS, fallback: ASYMMETRIC_ALGORITHMS, name: 'key set (RS*/PS*/ES*/EdDSA)' };
    const algorithms = options.algorithms ?? fallback;
    const foreign = algorithms.filter((a) => !fits.includes(a));
    if (algorithms.length === 0 || foreign.length > 0) {
      throw new TypeError(`algorithms ${foreign.join(', ') || '(none)'} do not fit the configured ${name}`);
    }
    this.#algorithms = [...algorithms];
    if (options.secret !== undefined) {
      const bytes = new TextEncoder().encode(options.secret);
      if (bytes.length < MIN_SECRET_BYTES) throw new RangeError(`the HMAC secret must be at least ${MIN_SECRET_BYTES} bytes`);
      this.#key = Promise.resolve(bytes);
    } else if (publicKey !== undefined) {
      this.#key = Promise.resolve(publicKey);
    } else if (options.jwksUrl !== undefined) {
      this.#key = Promise.resolve(createRemoteJWKSet(new URL(options.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000 }));
    } else {
      this.#key = Promise.resolve(createLocalJWKSet(options.jwks as Parameters<typeof createLocalJWKSet>[0]));
    }
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
      const expiresAt = (payload.exp! + (options.leeway ?? 5)) * 1000;
      return { user, authenticated: true, expiresAt, grants: grantsFromClaims(payload), ...(adminFromClaims(payload) && { admin: true }) };
    } catch (error) {
      // An expired token gets its own code: the client should refresh it, not give up.
      throw new HeraldError(error instanceof errors.JWTExpired ? ErrorCode.TokenExpired : ErrorCode.Unauthorized, reason(error), {
        cause: error,
      });
    }
  }
}

/** Reads a PEM (SPKI) public key; throws `TypeError` when it is not one. */
function readPublicKey(pem: string): KeyObject {
  try {
    return createPublicKey(pem);
  } catch (error) {
    throw new TypeError('publicKey must be a PEM public key (SPKI)', { cause: error });
  }
}

const EC_ALGORITHMS: Readonly<Record<string, string>> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };

/**
 * The algorithms a public key can verify, and the one it accepts unless `algorithms` says more: an
 * RSA key defaults to RS256 only (RS384/512 and PS* need `algorithms`), an RSA-PSS key to PS256, an
 * EC key to its curve's algorithm, an Ed25519/Ed448 key to EdDSA.
 */
function algorithmsOf(key: KeyObject): { fits: readonly string[]; fallback: readonly string[]; name: string } {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return {
        fits: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
        fallback: ['RS256'],
        name: 'RSA public key (RS256, RS384, RS512, PS256, PS384, PS512)',
      };
    case 'rsa-pss':
      return { fits: ['PS256', 'PS384', 'PS512'], fallback: ['PS256'], name: 'RSA-PSS public key (PS256, PS384, PS512)' };
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
      const algorithm = EC_ALGORITHMS[curve];
      if (algorithm === undefined) throw new TypeError(`publicKey: the EC curve ${curve} is not supported (P-256, P-384, P-521)`);
      return { fits: [algorithm], fallback: [algorithm], name: `EC public key (${algorithm})` };
    }
    case 'ed25519':
    case 'ed448':
      return { fits: ['EdDSA'], fallback: ['EdDSA'], name: 'EdDSA public key (EdDSA)' };
    default:
      throw new TypeError(`publicKey: a ${key.asymmetricKeyType ?? 'symmetric'} key is not supported (RSA, RSA-PSS, EC, Ed25519, Ed448)`);
  }
}

/** A short, non-reversible fingerprint of a token for logs (never the token itself). */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 10);
}
