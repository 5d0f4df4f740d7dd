import { importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';

/** Default token lifetime, in seconds. */
export const DEFAULT_TOKEN_TTL = 3600;

/**
 * The key a hub verifies tokens with, as the backend holds it: the shared HMAC secret (the hub's
 * `auth.secret`, at least 32 characters), or the private half of the hub's `auth.publicKey` / JWKS.
 */
export type TokenKey =
  | {
      /** The hub's `auth.secret`. */
      readonly secret: string;
      /** @default 'HS256' */
      readonly alg?: 'HS256' | 'HS384' | 'HS512' | undefined;
    }
  | {
      /** A private `CryptoKey` (WebCrypto) or a private JWK. */
      readonly privateKey: CryptoKey | JWK;
      /** Must be one the hub allows for its public key. */
      readonly alg: 'ES256' | 'ES384' | 'ES512' | 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'EdDSA';
      /** The `kid` header, to pick the key from the hub's JWKS. */
      readonly kid?: string | undefined;
    };

/** What a token grants: channel patterns (a name, or a prefix ending in `*`) for every operation or per operation. */
export interface TokenGrants {
  /** Patterns granted for subscribe, publish, history and presence (the `channels` claim). */
  readonly channels?: readonly string[] | undefined;
  readonly subscribe?: readonly string[] | undefined;
  readonly publish?: readonly string[] | undefined;
  readonly history?: readonly string[] | undefined;
  readonly presence?: readonly string[] | undefined;
}

/** A token to mint: who, what it grants, how long it lives. */
export interface TokenOptions {
  /** The user id (`sub`); without it the token is authenticated with user `null`. */
  readonly sub?: string | undefined;
  readonly grants?: TokenGrants | undefined;
  /** Lifetime in seconds. @default 3600 */
  readonly ttl?: number | undefined;
}

/** How the client signs: the key, and the `aud`/`iss` the hub requires when it is configured with them. */
export interface TokenSigning {
  readonly key: TokenKey;
  readonly audience?: string | undefined;
  readonly issuer?: string | undefined;
}

/** The `channels` and `herald` claims of a token's grants. */
function grantClaims(grants: TokenGrants | undefined): Record<string, unknown> {
  if (grants === undefined) return {};
  const claims: Record<string, unknown> = {};
  if (grants.channels !== undefined) claims['channels'] = [...grants.channels];
  const perOperation: Record<string, string[]> = {};
  for (const op of ['subscribe', 'publish', 'history', 'presence'] as const) {
    const patterns = grants[op];
    if (patterns !== undefined) perOperation[op] = [...patterns];
  }
  if (Object.keys(perOperation).length > 0) claims['herald'] = perOperation;
  return claims;
}

/**
 * Signs a token the hub accepts (JWT, with `sub`, `iat`, `exp`, the grants, and `aud`/`iss` when
 * set), at `now` (ms since the Unix epoch). WebCrypto only: works on every runtime with `crypto.subtle`.
 */
export async function signToken(signing: TokenSigning, options: TokenOptions, now: number): Promise<string> {
  const ttl = options.ttl ?? DEFAULT_TOKEN_TTL;
  if (!Number.isFinite(ttl) || ttl <= 0) throw new RangeError('ttl must be a number of seconds > 0');
  const issuedAt = Math.floor(now / 1000);
  const jwt = new SignJWT(grantClaims(options.grants)).setIssuedAt(issuedAt).setExpirationTime(issuedAt + Math.ceil(ttl));
  if (options.sub !== undefined) jwt.setSubject(options.sub);
  if (signing.audience !== undefined) jwt.setAudience(signing.audience);
  if (signing.issuer !== undefined) jwt.setIssuer(signing.issuer);
  const { key } = signing;
  if ('secret' in key) {
    return jwt.setProtectedHeader({ alg: key.alg ?? 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(key.secret));
  }
  const privateKey = isJwk(key.privateKey) ? await importJWK(key.privateKey, key.alg) : key.privateKey;
  return jwt.setProtectedHeader({ alg: key.alg, typ: 'JWT', ...(key.kid !== undefined && { kid: key.kid }) }).sign(privateKey);
}

function isJwk(key: CryptoKey | JWK): key is JWK {
  return typeof (key as JWK).kty === 'string';
}
