import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';

/** HS256 users of one test file: a fresh secret and tokens signed with it. */
export interface JwtUsers {
  /** The HS256 secret (32 random bytes, base64url) to give the hub's `JwtAuthenticator`. */
  readonly secret: string;
  /** A token whose subject is `sub`, valid for an hour. */
  token(sub: string): Promise<string>;
}

/** Makes a fresh secret and a `token(sub)` signing with it. */
export function jwtUsers(): JwtUsers {
  const secret = randomBytes(32).toString('base64url');
  const key = new TextEncoder().encode(secret);
  return {
    secret,
    token: (sub) =>
      new SignJWT({ sub })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
        .sign(key),
  };
}

/** The `Authorization: Bearer <token>` header. */
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
