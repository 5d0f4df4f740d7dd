import { ErrorCode, type AckResult, type Position } from '@herald/protocol';
import type { Identity } from '../auth/identity.js';
import type { Security } from '../auth/security.js';
import type { Clock } from '../clock.js';
import type { AckedPosition, AckStore } from '../engine/ack-store.js';
import { HeraldError } from '../errors.js';
import { hookDecides, subscribeInfo } from '../hooks/client-decisions.js';
import type { HookContext } from '../hooks/proxy-hooks.js';
import type { Hub } from '../hub/hub.js';
import type { Logger } from '../logger.js';
import type { AckWebhooks } from './ack-webhooks.js';

/** Where an ack comes from: the transport's hook context, and whether the channel is subscribed on it (a WebSocket session). */
export interface AckSource {
  readonly context: HookContext;
  /** The channel is subscribed on this connection: the hub (and the app's subscribe hook) already allowed it. */
  readonly subscribed: boolean;
}

/** Times an ack may find the stored position in yet another epoch after confirming its own (each a log read and a store write). */
const MAX_EPOCH_ROUNDS = 3;

/**
 * Client acknowledgements: checks an ack (a user, the subscribe right, the channel's current epoch
 * and last offset), stores it in the engine's {@link AckStore} and reports it to the webhooks. One
 * per hub, shared by the WebSocket `ack` command and `POST /api/ack`.
 */
export class Acks {
  readonly #hub: Hub;
  readonly #store: AckStore;
  readonly #security: Security;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #webhooks: AckWebhooks | undefined;

  constructor(parts: { hub: Hub; store: AckStore; security: Security; clock: Clock; logger: Logger; webhooks?: AckWebhooks | undefined }) {
    this.#hub = parts.hub;
    this.#store = parts.store;
    this.#security = parts.security;
    this.#clock = parts.clock;
    this.#logger = parts.logger;
    this.#webhooks = parts.webhooks;
  }

  /**
   * Acknowledges `position` on `channel` for `identity`'s user and resolves with the user's
   * acknowledged position after it.
   * @throws HeraldError 2000 without a user (anonymous, API key); 2001 without the subscribe right;
   *   1013 for an epoch other than the channel's; 1012 beyond its last offset; 3001 when the engine fails
   */
  async ack(identity: Identity, channel: string, position: Position, source: AckSource): Promise<AckResult> {
    const user = identity.user;
    if (user === null) throw new HeraldError(ErrorCode.Unauthorized, 'acks need a user: connect with a token that names one (sub)');
    const security = this.#security;
    if (hookDecides(security, identity, 'subscribe', channel)) {
      // The app decides who may subscribe: a channel subscribed on this connection was allowed by
      // it; otherwise it is asked, as for a subscribe.
      if (!source.subscribed) await subscribeInfo(security, identity, source.context, channel);
    } else {
      security.permissions.check(identity, 'subscribe', channel);
    }
    await this.#check(channel, position);
    let outcome = await this.#engine(() => this.#store.ack(user, channel, position, this.#clock.now()));
    // The stored position is of another epoch. The ack's epoch was current before the store was
    // read, but may have been replaced since (a failover, a renewed log) by the stored one: only
    // after checking again, now that the stored epoch was seen, is the ack's epoch known to be the
    // newer one. The store then replaces exactly the epoch it was compared with (atomically), so a
    // delayed ack of a dead epoch never replaces a position of the current one. Rare (once per user
    // and epoch change), so the common ack stays one engine read and one write.
    for (let round = 0; outcome.otherEpoch === true; round++) {
      if (round === MAX_EPOCH_ROUNDS) throw new HeraldError(ErrorCode.Unavailable, 'the acknowledged position kept changing epochs');
      const replacing = outcome.position.epoch;
      await this.#check(channel, position);
      outcome = await this.#engine(() => this.#store.ack(user, channel, position, this.#clock.now(), replacing));
    }
    if (outcome.moved) this.#webhooks?.acked(channel, user, outcome.position);
    return { channel, epoch: outcome.position.epoch, offset: outcome.position.offset };
  }

  /** The channel's acknowledged positions, most recently acknowledged first (at most `limit`; one user's with `user`). */
  list(channel: string, options: { readonly user?: string | undefined; readonly limit: number }): Promise<AckedPosition[]> {
    return this.#engine(() => this.#store.list(channel, options, this.#clock.now()));
  }

  /** Sends the coalesced webhook events still pending and closes the store. */
  async close(): Promise<void> {
    this.#webhooks?.close();
    await this.#store.close?.();
  }

  /** Throws 1013 unless `position` is of the channel's current epoch, 1012 when it is beyond its last offset. */
  async #check(channel: string, position: Position): Promise<void> {
    const top = await this.#hub.position(channel);
    if (position.epoch !== top.epoch) {
      throw new HeraldError(ErrorCode.AckWrongEpoch, `epoch ${position.epoch} is not the channel's current epoch ${top.epoch}`);
    }
    if (position.offset > top.offset) {
      throw new HeraldError(ErrorCode.AckBeyondPosition, `offset ${position.offset} is beyond the channel's last offset ${top.offset}`);
    }
  }

  async #engine<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof HeraldError) throw error;
      this.#logger.warn({ err: error }, 'the ack store failed');
      throw new HeraldError(ErrorCode.Unavailable, 'the engine is unavailable', { cause: error });
    }
  }
}
