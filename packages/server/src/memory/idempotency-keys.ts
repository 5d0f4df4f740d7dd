import type { Position } from '@herald/protocol';

/** Most keys remembered at once; the oldest are forgotten first past it (a retry then stores again). */
export const MAX_KEYS = 500_000;

interface Remembered {
  readonly epoch: string;
  readonly offset: number;
  readonly expires: number;
  readonly fingerprint: string;
}

/** Idempotency keys of recent publishes, per channel, each with its expiry (ms since the epoch). */
export class IdempotencyKeys {
  // One map for every channel: insertion order is expiry order (one lifetime for every key), so
  // both the sweep and the bound drop from the front.
  readonly #keys = new Map<string, Remembered>();

  /** The position first published under `key`, and that publish's fingerprint, while the key lives. */
  find(channel: string, key: string, now: number): (Position & { readonly fingerprint: string }) | undefined {
    const found = this.#keys.get(`${channel}\n${key}`);
    return found !== undefined && found.expires > now
      ? { epoch: found.epoch, offset: found.offset, fingerprint: found.fingerprint }
      : undefined;
  }

  remember(channel: string, key: string, position: Position, fingerprint: string, expires: number): void {
    const id = `${channel}\n${key}`;
    this.#keys.delete(id);
    this.#keys.set(id, { epoch: position.epoch, offset: position.offset, expires, fingerprint });
    if (this.#keys.size > MAX_KEYS) this.#keys.delete(this.#keys.keys().next().value!);
  }

  /** Forgets expired keys. */
  sweep(now: number): void {
    for (const [id, remembered] of this.#keys) {
      if (remembered.expires > now) break;
      this.#keys.delete(id);
    }
  }
}
