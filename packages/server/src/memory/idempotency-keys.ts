import type { Position } from '@herald/protocol';

/** Most keys remembered per channel; the oldest are forgotten first past it. */
export const MAX_KEYS_PER_CHANNEL = 100_000;

interface Remembered {
  readonly epoch: string;
  readonly offset: number;
  readonly expires: number;
}

/** Idempotency keys of recent publishes, per channel, each with its expiry (ms since the epoch). */
export class IdempotencyKeys {
  readonly #channels = new Map<string, Map<string, Remembered>>();

  /** The position first published under `key`, while the key lives. */
  find(channel: string, key: string, now: number): Position | undefined {
    const found = this.#channels.get(channel)?.get(key);
    return found !== undefined && found.expires > now ? { epoch: found.epoch, offset: found.offset } : undefined;
  }

  remember(channel: string, key: string, position: Position, expires: number): void {
    let keys = this.#channels.get(channel);
    if (keys === undefined) {
      keys = new Map();
      this.#channels.set(channel, keys);
    }
    // Re-inserted at the end: insertion order stays expiry order (one lifetime for every key).
    keys.delete(key);
    keys.set(key, { epoch: position.epoch, offset: position.offset, expires });
    if (keys.size > MAX_KEYS_PER_CHANNEL) keys.delete(keys.keys().next().value!);
  }

  /** Forgets expired keys. */
  sweep(now: number): void {
    for (const [channel, keys] of this.#channels) {
      for (const [key, remembered] of keys) {
        if (remembered.expires > now) break;
        keys.delete(key);
      }
      if (keys.size === 0) this.#channels.delete(channel);
    }
  }
}
