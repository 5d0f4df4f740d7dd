import type { Clock } from '@herald/server';
import type { KV, KvEntry } from '@nats-io/kv';
import type { KvCas } from './kv-cas.js';
import { keyPart } from './names.js';

/** How long (ms) a reservation may stay pending before another publisher takes it over (its holder died). */
const PENDING_FOR = 10_000;
/** How often (ms) a publisher that found a pending reservation looks again. */
const POLL = 10;

/** What a key holds: a pending reservation, or the position its first publish got. */
interface KeyRecord {
  /** Clock time (ms) the key stops counting. */
  readonly expires: number;
  readonly fingerprint: string;
  /** Real time (ms) the reservation was taken: a pending one older than {@link PENDING_FOR} is abandoned. */
  readonly at: number;
  readonly epoch?: string;
  readonly offset?: number;
  /** A pending reservation: the channel's stream sequence its append goes after (a takeover looks past it). */
  readonly from?: number;
}

/** A reservation taken for one publish: {@link IdempotencyKeys.commit} or {@link IdempotencyKeys.release} it. */
export interface Reservation {
  readonly key: string;
  readonly revision: number;
  readonly expires: number;
  readonly fingerprint: string;
  /**
   * Taken over from an abandoned reservation: its tag and where its append would be. The holder may
   * have stored its append (its answer lost): the new holder looks for it before appending again.
   */
  readonly abandoned?: { readonly tag: string; readonly from: number; readonly fingerprint: string };
}

/** The tag an append made under a reservation carries (a header), so a takeover can find it. */
export function reservationTag(reservation: { readonly key: string; readonly revision: number }): string {
  return `${reservation.key}#${reservation.revision}`;
}

/** The first publish's position, when the key was used within its lifetime. */
export interface UsedKey {
  readonly epoch: string;
  readonly offset: number;
  readonly fingerprint: string;
}

/**
 * Idempotency keys in a KV bucket, one entry per channel and key, checked against the hub's clock
 * (the key's lifetime is the publish's `idempotencyTtl`, not the bucket's age limit, which only
 * collects old entries). A publish first reserves the key with a compare-and-set (KV create, or
 * update at the revision it read), so of concurrent publishes with one key, on any nodes, exactly
 * one stores; the others wait for its position. A publisher that dies between its append and its
 * commit (or whose append got no answer) leaves a pending reservation, which another publish takes
 * over after 10 s: that one first looks for an append tagged with the abandoned reservation past the
 * channel position it noted, and commits that append's position instead of appending again.
 */
export class IdempotencyKeys {
  readonly #kv: KV;
  readonly #cas: KvCas;
  readonly #clock: Clock;

  constructor(kv: KV, cas: KvCas, clock: Clock) {
    this.#kv = kv;
    this.#cas = cas;
    this.#clock = clock;
  }

  /** Reserves the key, or resolves with the first publish's position when it was used. */
  async reserve(channel: string, key: string, ttlSeconds: number, fingerprint: string, from = 0): Promise<Reservation | UsedKey> {
    const name = `${keyPart(channel)}.${keyPart(key)}`;
    const deadline = Date.now() + PENDING_FOR + 5_000;
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      const now = this.#clock.now();
      const expires = now + Math.max(1, Math.round(ttlSeconds * 1000));
      const pending = JSON.stringify({ expires, fingerprint, at: Date.now(), from } satisfies KeyRecord);
      const entry: KvEntry | null = await this.#kv.get(name);
      const record = entry !== null && entry.operation === 'PUT' ? parse(entry.string()) : undefined;
      try {
        if (entry === null || record === undefined) {
          const revision = await this.#cas.put(name, pending, entry?.revision ?? 0);
          return { key: name, revision, expires, fingerprint };
        }
        if (record.expires > now) {
          if (record.epoch !== undefined && record.offset !== undefined)
            return { epoch: record.epoch, offset: record.offset, fingerprint: record.fingerprint };
          if (Date.now() - record.at < PENDING_FOR) {
            await new Promise((resolve) => setTimeout(resolve, Math.min(POLL * (attempt + 1), 100)));
            continue;
          }
        }
        const revision = await this.#cas.put(name, pending, entry.revision);
        if (record.expires > now && record.epoch === undefined)
          return {
            key: name,
            revision,
            expires,
            fingerprint,
            abandoned: {
              tag: reservationTag({ key: name, revision: entry.revision }),
              from: record.from ?? 0,
              fingerprint: record.fingerprint,
            },
          };
        return { key: name, revision, expires, fingerprint };
      } catch {
        // Another publisher changed the key between the read and the write: read it again.
        continue;
      }
    }
    throw new Error('an idempotency key stayed reserved by another publish');
  }

  /** Records the position the reserved publish got. */
  async commit(reservation: Reservation, epoch: string, offset: number): Promise<void> {
    const record: KeyRecord = { expires: reservation.expires, fingerprint: reservation.fingerprint, at: Date.now(), epoch, offset };
    await this.#cas.put(reservation.key, JSON.stringify(record), reservation.revision);
  }

  /**
   * Gives the key up after a publish that was definitely not stored (refused), unless someone took
   * it over meanwhile. A publish whose answer never came keeps its reservation pending: it may be
   * stored, and a takeover looks for it (see {@link Reservation.abandoned}).
   */
  async release(reservation: Reservation): Promise<void> {
    await this.#cas.delete(reservation.key, reservation.revision).catch(() => undefined);
  }
}

function parse(text: string): KeyRecord | undefined {
  try {
    const value = JSON.parse(text) as Partial<KeyRecord>;
    if (typeof value.expires !== 'number' || typeof value.fingerprint !== 'string' || typeof value.at !== 'number') return undefined;
    return value as KeyRecord;
  } catch {
    return undefined;
  }
}
