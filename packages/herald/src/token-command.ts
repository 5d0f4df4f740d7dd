import { Command, Option } from 'commander';
import { SignJWT } from 'jose';
import { CliError, reportCliError } from './cli-error.js';
import { ConfigError, loadConfig } from './config.js';
import { signingKey } from './signing-key.js';
import { grantClaims, parseTtl } from './token-claims.js';

interface TokenFlags {
  sub: string;
  grant: string[];
  ttl: string;
  config?: string;
  privateKey?: string;
  /** Adds `"herald": {"admin": true}`: the admin API and every operation on every channel. */
  admin?: boolean;
}

const first = (value: string | readonly string[] | undefined): string | undefined => (typeof value === 'string' ? value : value?.[0]);

/** Signs the token `herald token` prints, for the hub configured by `flags.config` and `HERALD_*` variables. */
export async function signToken(flags: TokenFlags, env: NodeJS.ProcessEnv, now: number): Promise<string> {
  // The flags first: a typo is reported before anything is read.
  const ttl = parseTtl(flags.ttl);
  const granted = grantClaims(flags.grant);
  const claims = flags.admin === true ? { ...granted, herald: { ...granted.herald, admin: true } } : granted;
  if (flags.sub.length === 0) throw new CliError('--sub must not be empty');
  let auth;
  try {
    auth = loadConfig({ file: flags.config, env, flags: {} }).config.auth;
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message);
    throw error;
  }
  const { key, alg, kid } = signingKey(auth, flags.privateKey);
  const iat = Math.floor(now / 1000);
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg, typ: 'JWT', ...(kid !== undefined && { kid }) })
    .setSubject(flags.sub)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttl);
  // A hub that checks aud/iss refuses a token without them: take the configured values.
  const audience = first(auth?.audience);
  const issuer = first(auth?.issuer);
  if (audience !== undefined) jwt.setAudience(audience);
  if (issuer !== undefined) jwt.setIssuer(issuer);
  return jwt.sign(key);
}

/** `herald token`; `run` receives the outcome (the exit code). */
export function tokenCommand(run: (outcome: Promise<number>) => void): Command {
  return new Command('token')
    .description("sign a token (JWT) with the hub's configured key, for development and scripts; prints it")
    .requiredOption('--sub <user>', "the user id (the token's sub)")
    .addOption(
      new Option(
        '-g, --grant <pattern[=ops]>',
        'channels granted: PATTERN=op,op (ops: subscribe, publish, history, presence) or PATTERN for all four; repeatable',
      )
        .argParser((value: string, previous: string[]) => [...previous, value])
        .default([]),
    )
    .option('--ttl <duration>', 'lifetime: seconds, or with a unit s, m, h, d (max 365d)', '1h')
    .option('-c, --config <file>', "the hub's JSON configuration file (HERALD_AUTH_SECRET and other HERALD_* variables count too)")
    .option('--private-key <file>', 'the private key (JWK or PEM) when the hub verifies with auth.publicKey or auth.jwksUrl')
    .option(
      '--admin',
      'an admin token ("herald": {"admin": true}): the admin API and the console at /admin, every operation on every channel',
    )
    .addHelpText(
      'after',
      `
The key comes from the configuration the hub starts with: auth.secret signs HS256 (or the first HS*
of auth.algorithms). A hub configured with auth.publicKey or auth.jwksUrl cannot sign: pass the
private key with --private-key (checked against auth.publicKey). auth.audience and auth.issuer,
when configured, are set in the token.

Grants go into the claims the hub reads: chat:*=subscribe,publish adds "chat:*" to
herald.subscribe and herald.publish; a bare room:42 goes into channels (all four operations). A
pattern is a channel name, or the start of one followed by a single * (chat:*; * alone: every
channel).

A grant counts only where the hub's namespace rules say "granted" (or "owner") for that operation:
with the configuration below, --grant 'chat:*=publish' lets alice publish on chat:1, but
--grant 'news:*=publish' adds nothing (news is "none" for publish: nobody may) and a token
without grants still subscribes to news:1 ("authenticated"). Without --grant, the token grants no
channel (a warning says so on stderr).
  "namespaces": {
    "chat": { "subscribe": "granted", "publish": "granted", "history": "granted", "presence": "granted" },
    "news": { "subscribe": "authenticated", "publish": "none", "history": "authenticated", "presence": "none" }
  }

Examples:
  $ herald token --config herald.config.json --sub alice --grant 'chat:*=subscribe,publish' --ttl 1h
  $ HERALD_AUTH_SECRET=... HERALD_API_KEYS=... herald token --sub bob --grant room:42 --grant 'news:*=subscribe,history'
  $ herald token --config herald.config.json --private-key signer.jwk --sub alice --grant 'inbox:alice=subscribe'
  $ herald token --config herald.config.json --sub ops --admin --ttl 8h`,
    )
    .action((flags: TokenFlags) => {
      run(
        (async () => {
          try {
            const jwt = await signToken(flags, process.env, Date.now());
            if (flags.grant.length === 0 && flags.admin !== true)
              process.stderr.write(
                'herald: warning: no --grant: the token grants no channel; it passes only where the namespace rules need no grant\n',
              );
            process.stdout.write(`${jwt}\n`);
            return 0;
          } catch (error) {
            return reportCliError(error);
          }
        })(),
      );
    });
}
