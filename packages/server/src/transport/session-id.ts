import { randomBytes } from 'node:crypto';

const prefix = randomBytes(6).toString('base64url');
let counter = 0;

/** A session id unique across nodes and restarts: a random per-process prefix and a counter. */
export function nextSessionId(): string {
  counter++;
  return `${prefix}${counter.toString(36)}`;
}
