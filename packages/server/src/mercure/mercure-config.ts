import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import type { MercureJwtAlgorithm, MercureOptions } from './mercure-options.js';

/** The algorithms `MercureOptions` accepts. */
export const MERCURE_ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'ES512',
] as const satisfies readonly MercureJwtAlgorithm[];

/** A key and the one algorithm tokens signed with it must use. */
export interface MercureKey {
  readonly key: KeyObject;
  readonly algorithm: MercureJwtAlgorithm;
}

/** {@link MercureOptions} checked, with the keys built. */
export interface MercureConfig {
  /** Verifies publishers' tokens. */
  readonly publisher: MercureKey;
  /** Verifies subscribers' tokens; `undefined` when only anonymous subscribers are served. */
  readonly subscriber: MercureKey | undefined;
  readonly anonymous: boolean;
  readonly subscriptions: boolean;
}

function algorithm(name: string, value: unknown, fallback: MercureJwtAlgorithm): MercureJwtAlgorithm {
  if (value === undefined) return fallback;
  if (!(MERCURE_ALGORITHMS as readonly string[]).includes(value as string))
    throw new RangeError(`mercure.${name} must be one of ${MERCURE_ALGORITHMS.join(', ')}`);
  return value as MercureJwtAlgorithm;
}

function key(name: string, text: unknown, alg: MercureJwtAlgorithm): MercureKey {
  if (typeof text !== 'string' || text.length === 0) throw new TypeError(`mercure.${name} must be a non-empty string`);
  if (alg.startsWith('HS')) return { key: createSecretKey(Buffer.from(text, 'utf8')), algorithm: alg };
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch {
    throw new TypeError(`mercure.${name} must be a PEM public key for ${alg}`);
  }
  const type = alg.startsWith('RS') ? 'rsa' : 'ec';
  if (key.asymmetricKeyType !== type) throw new TypeError(`mercure.${name} must be a PEM public key for ${alg}`);
  return { key, algorithm: alg };
}

/**
 * Checks the Mercure options: a publisher key (`publisherJwtKey` or `jwtKey`) is required; a
 * subscriber key (`subscriberJwtKey` or `jwtKey`) unless `anonymous` is true. A missing or empty key
 * or a PEM that is not a public key of the algorithm's type throws a `TypeError`, an unknown
 * algorithm a `RangeError`.
 */
export function resolveMercureConfig(options: MercureOptions): MercureConfig {
  if (typeof options !== 'object' || options === null) throw new TypeError('mercure must be an object');
  const base = algorithm('jwtAlgorithm', options.jwtAlgorithm, 'HS256');
  const publisherAlg = algorithm('publisherJwtAlgorithm', options.publisherJwtAlgorithm, base);
  const subscriberAlg = algorithm('subscriberJwtAlgorithm', options.subscriberJwtAlgorithm, base);
  if (options.anonymous !== undefined && typeof options.anonymous !== 'boolean') throw new TypeError('mercure.anonymous must be a boolean');
  if (options.subscriptions !== undefined && typeof options.subscriptions !== 'boolean')
    throw new TypeError('mercure.subscriptions must be a boolean');
  const anonymous = options.anonymous === true;
  const publisherText = options.publisherJwtKey ?? options.jwtKey;
  if (publisherText === undefined) throw new TypeError('mercure.publisherJwtKey or mercure.jwtKey is required');
  const publisher = key(options.publisherJwtKey === undefined ? 'jwtKey' : 'publisherJwtKey', publisherText, publisherAlg);
  const subscriberText = options.subscriberJwtKey ?? options.jwtKey;
  if (subscriberText === undefined && !anonymous)
    throw new TypeError('mercure.subscriberJwtKey or mercure.jwtKey is required unless mercure.anonymous is true');
  const subscriber =
    subscriberText === undefined
      ? undefined
      : key(options.subscriberJwtKey === undefined ? 'jwtKey' : 'subscriberJwtKey', subscriberText, subscriberAlg);
  return { publisher, subscriber, anonymous, subscriptions: options.subscriptions === true };
}
