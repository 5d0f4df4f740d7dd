import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { CliError, reportCliError } from './cli-error.js';

/** What `herald keygen` makes. */
export type KeyType = 'hs256' | 'es256' | 'api-key';

/** Random bytes in a new HMAC secret (64 base64url characters; the hub needs 32 or more). */
export const SECRET_BYTES = 48;
/** Random bytes in a new API key (43 base64url characters; the hub needs 16 or more). */
export const API_KEY_BYTES = 32;

/**
 * Makes a key and returns the configuration fragment that uses it (to merge into the hub's JSON
 * configuration file). For `es256` the private key, a JWK, is written to `privateKeyOut` (mode
 * 600, never over an existing file): it is for the signer, not for the hub.
 */
export async function makeKey(type: KeyType, privateKeyOut: string | undefined): Promise<object> {
  if (type !== 'es256' && privateKeyOut !== undefined)
    throw new CliError(`--private-key-out is for --type es256 only (a ${type} has no key pair)`);
  switch (type) {
    case 'hs256':
      return { auth: { secret: randomBytes(SECRET_BYTES).toString('base64url') } };
    case 'api-key':
      return { apiKeys: [randomBytes(API_KEY_BYTES).toString('base64url')] };
    case 'es256': {
      if (privateKeyOut === undefined) {
        throw new CliError(
          '--type es256 needs --private-key-out FILE: the private key goes there (for herald token and your signer), the public key to the configuration',
        );
      }
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const jwk = privateKey.export({ format: 'jwk' }) as JWK;
      const kid = await calculateJwkThumbprint(jwk);
      try {
        writeFileSync(privateKeyOut, `${JSON.stringify({ ...jwk, alg: 'ES256', use: 'sig', kid }, null, 2)}\n`, {
          mode: 0o600,
          flag: 'wx',
        });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new CliError(
          code === 'EEXIST'
            ? `--private-key-out ${privateKeyOut} exists: not overwritten`
            : `cannot write ${privateKeyOut}: ${code ?? (error as Error).message}`,
        );
      }
      return { auth: { publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() } };
    }
  }
}

/** `herald keygen`; `run` receives the outcome (the exit code). */
export function keygenCommand(run: (outcome: Promise<number>) => void): Command {
  return new Command('keygen')
    .description("make a token secret, a token key pair or an API key; prints it as a fragment of the hub's configuration")
    .addOption(
      new Option('-t, --type <type>', 'hs256 (token secret), es256 (token key pair) or api-key')
        .choices(['hs256', 'es256', 'api-key'])
        .default('hs256'),
    )
    .option('--private-key-out <file>', 'es256: where to write the private key (a JWK, mode 600; never overwrites)')
    .addHelpText(
      'after',
      `
Prints JSON to merge into the hub's configuration file:
  hs256     {"auth": {"secret": "<64 random characters>"}}
  api-key   {"apiKeys": ["<43 random characters>"]}
  es256     {"auth": {"publicKey": "-----BEGIN PUBLIC KEY-----\\n..."}}, the private key (JWK) in --private-key-out

Examples:
  $ herald keygen > secret.json
  $ herald keygen --type api-key | jq -r '.apiKeys[0]'
  $ herald keygen --type es256 --private-key-out signer.jwk
  $ herald token --config herald.config.json --private-key signer.jwk --sub alice --grant 'chat:*'`,
    )
    .action((flags: { type: KeyType; privateKeyOut?: string }) => {
      run(
        (async () => {
          try {
            process.stdout.write(`${JSON.stringify(await makeKey(flags.type, flags.privateKeyOut), null, 2)}\n`);
            return 0;
          } catch (error) {
            return reportCliError(error);
          }
        })(),
      );
    });
}
