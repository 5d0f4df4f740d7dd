/** The JWT algorithms the Mercure door verifies (HMAC with a shared key, RSA and ECDSA with a PEM public key). */
export type MercureJwtAlgorithm = 'HS256' | 'HS384' | 'HS512' | 'RS256' | 'RS384' | 'RS512' | 'ES256' | 'ES384' | 'ES512';

/**
 * The Mercure door: `/.well-known/mercure` (subscribe over SSE, publish by form POST) on the same
 * channel logs. Topic `T` is the Herald channel `T` with characters outside Herald's alphabet
 * escaped (see `docs/mercure.md`).
 */
export interface MercureOptions {
  /** The key that verifies publisher and subscriber JWTs (the secret for HS*, a PEM public key otherwise). */
  readonly jwtKey?: string | undefined;
  /** @default 'HS256' */
  readonly jwtAlgorithm?: MercureJwtAlgorithm | undefined;
  /** Verifies publishers' JWTs instead of `jwtKey`. */
  readonly publisherJwtKey?: string | undefined;
  /** @default `jwtAlgorithm` */
  readonly publisherJwtAlgorithm?: MercureJwtAlgorithm | undefined;
  /** Verifies subscribers' JWTs instead of `jwtKey`. */
  readonly subscriberJwtKey?: string | undefined;
  /** @default `jwtAlgorithm` */
  readonly subscriberJwtAlgorithm?: MercureJwtAlgorithm | undefined;
  /** Whether subscribers without a JWT may subscribe (to public updates only). @default false */
  readonly anonymous?: boolean | undefined;
  /** Whether the subscriptions API and subscription events are on. @default false */
  readonly subscriptions?: boolean | undefined;
}
