import { JetStreamApiCodes, JetStreamApiError, type JetStreamClient } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';

/** A compare-and-set lost: the key changed since the revision read. */
export class CasConflict extends Error {
  constructor() {
    super('the key changed since it was read');
    this.name = 'CasConflict';
  }
}

/**
 * Compare-and-set writes to a KV bucket, serialised on clustered buckets too. The KV client's
 * `update`/`delete` at a revision rely on `Nats-Expected-Last-Subject-Sequence` alone, which a
 * clustered stream does not serialise for writes in flight in nats-server 2.9 (2.9.10 is tested)
 * (nats-server#4320): two writers could both win. Each write here also carries a message id naming
 * the key and the revision it replaces, so of racing writers JetStream stores one and answers the
 * others `duplicate`.
 */
export class KvCas {
  readonly #js: JetStreamClient;
  readonly #prefix: string;

  constructor(js: JetStreamClient, bucket: string) {
    this.#js = js;
    this.#prefix = `$KV.${bucket}.`;
  }

  /** Writes `value` if the key is still at `revision` (0: never written, or purged); resolves with the new revision. */
  async put(key: string, value: string, revision: number): Promise<number> {
    return this.#write(key, value, revision, undefined);
  }

  /** Deletes the key if it is still at `revision`. */
  async delete(key: string, revision: number): Promise<void> {
    await this.#write(key, '', revision, 'DEL');
  }

  async #write(key: string, value: string, revision: number, operation: 'DEL' | undefined): Promise<number> {
    const h = operation === undefined ? undefined : headers();
    h?.set('KV-Operation', operation!);
    try {
      const ack = await this.#js.publish(this.#prefix + key, value, {
        expect: { lastSubjectSequence: revision },
        msgID: `${key}@${revision}`,
        ...(h && { headers: h }),
      });
      if (ack.duplicate) throw new CasConflict();
      return ack.seq;
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamWrongLastSequence) throw new CasConflict();
      throw error;
    }
  }
}
