import { randomBytes } from 'node:crypto';

/** A fresh random epoch: 12 base64url characters (72 bits). */
export function newEpoch(): string {
  return randomBytes(9).toString('base64url');
}
