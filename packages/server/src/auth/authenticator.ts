import type { Identity } from './identity.js';

/**
 * Turns a token into an {@link Identity}, or rejects with a `HeraldError` of code 2000
 * (`unauthorized`) whose message says why. Implementations never fetch anything a token names.
 */
export interface Authenticator {
  verify(token: string): Promise<Identity>;
}
