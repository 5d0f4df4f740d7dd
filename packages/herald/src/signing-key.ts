import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CliError } from './cli-error.js';
import type { HeraldConfig } from './config.js';

/** A key `herald token` signs with, and the JWS algorithm the hub accepts for it. */
export interface SigningKey {
  readonly key: Uint8Array | KeyObject;
  readonly alg: string;
  /** The JWK's `kid`, named in the token's header (a hub on a JWKS picks the key by it). */
  readonly kid?: string;
}

const EC_ALGORITHMS: Readonly<Record<string, string>> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };

/** The algorithm the hub accepts for a private key: the first of `algorithms` when configured, else the key type's default. */
function algorithmOf(key: KeyObject, algorithms: readonly string[] | undefined): string {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const alg = EC_ALGORITHMS[key.asymmetricKeyDetails?.namedCurve ?? ''];
      if (alg === undefined) throw new CliError('--private-key: the EC curve is not supported (P-256, P-384, P-521)');
      return alg;
    }
    case 'ed25519':
    case 'ed448':
      return 'EdDSA';
    case 'rsa':
      return algorithms?.find((a) => /^(RS|PS)\d+$/.test(a)) ?? 'RS256';
    case 'rsa-pss':
      return algorithms?.find((a) => a.startsWith('PS')) ?? 'PS256';
    default:
      throw new CliError(`--private-key: a ${key.asymmetricKeyType ?? 'symmetric'} key cannot sign tokens (RSA, EC, Ed25519, Ed448)`);
  }
}

/** Reads a private key file: a JWK (JSON, as `herald keygen --type es256` writes) or a PEM (PKCS#8, SEC1 or PKCS#1). */
function readPrivateKey(file: string): { key: KeyObject; kid?: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read --private-key ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    if (text.trimStart().startsWith('{')) {
      const jwk = JSON.parse(text) as { kid?: unknown; d?: unknown };
      if (jwk.d === undefined) throw new Error('the JWK holds no private part ("d")');
      const key = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
      return { key, ...(typeof jwk.kid === 'string' && { kid: jwk.kid }) };
    }
    return { key: createPrivateKey(text) };
  } catch (error) {
    throw new CliError(`--private-key ${file} is not a private key (a JWK or a PEM): ${(error as Error).message}`);
  }
}

const spki = (key: KeyObject): string => key.export({ type: 'spki', format: 'pem' }).toString();

/**
 * The key to sign with for a hub configured with `auth`: its HMAC secret, or the private key given
 * with `--private-key` (checked against `auth.publicKey` when the configuration has one, so a token
 * the hub would refuse is never printed). Throws a {@link CliError} when no key can sign.
 */
export function signingKey(auth: HeraldConfig['auth'], privateKeyFile: string | undefined): SigningKey {
  if (auth === undefined) {
    throw new CliError(
      'the configuration has no auth key (auth.secret, auth.publicKey or auth.jwksUrl, or HERALD_AUTH_SECRET): ' +
        'a hub started with it accepts no tokens (without --config it runs the dev profile, where everyone is anonymous)',
    );
  }
  if (privateKeyFile !== undefined) {
    const { key, kid } = readPrivateKey(privateKeyFile);
    if (auth.secret !== undefined)
      throw new CliError('--private-key given, but the configuration verifies tokens with auth.secret (HS256): leave --private-key out');
    if (auth.publicKey !== undefined && spki(createPublicKey(key)) !== spki(createPublicKey(auth.publicKey))) {
      throw new CliError(
        `--private-key ${privateKeyFile} does not match auth.publicKey of the configuration: the hub would refuse its tokens`,
      );
    }
    return { key, alg: algorithmOf(key, auth.algorithms), ...(kid !== undefined && { kid }) };
  }
  if (auth.secret !== undefined) {
    const alg = auth.algorithms?.find((a) => /^HS\d+$/.test(a)) ?? 'HS256';
    return { key: new TextEncoder().encode(auth.secret), alg };
  }
  const holds = auth.publicKey !== undefined ? `auth.publicKey` : `auth.jwksUrl (${auth.jwksUrl ?? ''})`;
  throw new CliError(
    `the configuration holds only ${holds}, which verifies tokens but cannot sign them: ` +
      'pass the matching private key with --private-key FILE (herald keygen --type es256 --private-key-out FILE writes one)',
  );
}
