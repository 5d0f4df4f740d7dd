import { randomBytes } from 'node:crypto';

/** A channel name no other test uses: `name` and 8 random hex digits. */
export function uniqueChannel(name: string): string {
  return `${name}-${randomBytes(4).toString('hex')}`;
}
