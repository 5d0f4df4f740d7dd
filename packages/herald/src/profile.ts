import { MIN_DOOR_SECRET_BYTES, shortDoorSecrets } from './door-config.js';

/** Which profile a hub runs: `dev` (open) or `production` (authenticated, deny by default). */
export type Profile = 'dev' | 'production';

/** The profiles `--profile` and `HERALD_PROFILE` accept. */
export const PROFILES: readonly Profile[] = ['dev', 'production'];

/**
 * Fields of the configuration file that define security: any one of them present selects the
 * production profile, and so does a connect hook (`hooks.connect`: the app decides who connects).
 * Everything else (`port`, `host`, `engine`, `limits`, `accessLog`, other hooks, …) does not.
 */
export const SECURITY_FIELDS = ['auth', 'apiKeys', 'cursorSecrets', 'allowedOrigins', 'allowAnonymous', 'namespaces'] as const;

/**
 * `HERALD_*` variables that define security: any one of them set (not empty) selects the production
 * profile. The others (`HERALD_HOST`, `HERALD_PORT`, `HERALD_ENGINE`, `HERALD_LOG_LEVEL`, the other
 * `HERALD_HOOKS_*`, …) do not.
 */
export const SECURITY_ENV_VARS = [
  'HERALD_AUTH_SECRET',
  'HERALD_AUTH_PUBLIC_KEY',
  'HERALD_AUTH_JWKS_URL',
  'HERALD_AUTH_AUDIENCE',
  'HERALD_AUTH_ISSUER',
  'HERALD_API_KEYS',
  'HERALD_CURSOR_SECRETS',
  'HERALD_ALLOWED_ORIGINS',
  'HERALD_ALLOW_ANONYMOUS',
  'HERALD_HOOKS_CONNECT_URL',
] as const;

/** The key fields named in a reason: `auth.secret` says more than `auth`. */
const AUTH_KEYS = ['secret', 'publicKey', 'jwksUrl'];

/**
 * The security settings a configuration defines, as an operator would find them: at most two
 * groups, the file's (`auth.secret, apiKeys in herald.config.json`) and the variables'
 * (`HERALD_AUTH_SECRET, HERALD_API_KEYS`). Empty when there are none.
 */
export function securitySettings(
  fromFile: Readonly<Record<string, unknown>>,
  file: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const fields: string[] = [];
  for (const field of SECURITY_FIELDS) {
    const value = fromFile[field];
    if (value === undefined) continue;
    const keys =
      field === 'auth' && typeof value === 'object' && value !== null
        ? AUTH_KEYS.filter((key) => key in value).map((key) => `auth.${key}`)
        : [];
    fields.push(...(keys.length > 0 ? keys : [field]));
  }
  const hooks = fromFile['hooks'];
  if (typeof hooks === 'object' && hooks !== null && 'connect' in hooks && (hooks as Record<string, unknown>)['connect'] !== false)
    fields.push('hooks.connect');
  const variables = SECURITY_ENV_VARS.filter((name) => env[name] !== undefined && env[name] !== '');
  return [
    ...(fields.length > 0 ? [`${fields.join(', ')} in ${file ?? 'the configuration'}`] : []),
    ...(variables.length > 0 ? [variables.join(', ')] : []),
  ];
}

/** The profile chosen and why, in words for the start-up banner: `HERALD_PROFILE`, `HERALD_API_KEYS`, … */
export interface ProfileChoice {
  readonly profile: Profile;
  readonly reason: string;
}

/** Whether `text` names a profile. */
export function isProfile(text: string): text is Profile {
  return (PROFILES as readonly string[]).includes(text);
}

/**
 * Chooses the profile: the one asked for (`--profile`, else `HERALD_PROFILE`), else `production`
 * when `security` (see {@link securitySettings}) is not empty, else `dev`. Asking for `dev` while
 * security is configured is refused (`refused` says why): the dev profile would ignore that
 * security and run open, which is never what a configuration with keys meant.
 */
export function chooseProfile(
  asked: { readonly profile: Profile; readonly source: '--profile' | 'HERALD_PROFILE' } | undefined,
  security: readonly string[],
): ProfileChoice | { readonly refused: string } {
  if (asked !== undefined) {
    if (asked.profile === 'dev' && security.length > 0) {
      const how = asked.source === '--profile' ? '--profile dev' : 'HERALD_PROFILE=dev';
      return {
        refused: `${how} would ignore the security configured (${security.join('; ')}) and run open: remove it, or use the production profile`,
      };
    }
    return { profile: asked.profile, reason: asked.source };
  }
  if (security.length > 0) return { profile: 'production', reason: security.join('; ') };
  return { profile: 'dev', reason: 'default: no security configured' };
}

/**
 * Why the production profile refuses the doors' secrets, or undefined when it does not: every
 * Pusher app secret, and every Mercure key verified with HS256/384/512, must be at least
 * {@link MIN_DOOR_SECRET_BYTES} bytes (what `auth.secret` needs: an HMAC key no shorter than its
 * SHA-256 hash). The doors do not choose the profile: their credentials guard their own door in
 * either profile, and the dev profile only warns about short ones.
 */
export function productionDoorProblems(
  pusher: Parameters<typeof shortDoorSecrets>[0],
  mercure: Parameters<typeof shortDoorSecrets>[1],
): string | undefined {
  const short = shortDoorSecrets(pusher, mercure);
  if (short.length === 0) return undefined;
  return `the production profile needs door secrets of at least ${MIN_DOOR_SECRET_BYTES} bytes (openssl rand -hex 32): ${short.join(', ')}`;
}
