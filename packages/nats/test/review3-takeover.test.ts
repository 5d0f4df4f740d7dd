import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, headers } from '@nats-io/transport-node';
import { serializeEnvelope } from '@herald/server';
import { NatsBroker } from '@herald/nats';
import { afterAll, describe, expect, it } from 'vitest';
import { recordBody } from '../src/channel-log.js';
import { keyPart } from '../src/names.js';
import { deleteStreams, NATS_URL, testPrefix } from './nats-helpers.js';

const prefixes: string[] = [];
afterAll(() => deleteStreams(NATS_URL, prefixes));

describe('review 3: takeover of an abandoned keyed publish among records of several', () => {
  it('finds the tagged record between batched ones and answers its position', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const options = { url: NATS_URL, prefix, historySize: 1000, historyTtl: 0 };
    const a = await NatsBroker.connect(options);
    const b = await NatsBroker.connect(options);
    const nc = await connect({ servers: NATS_URL.replace('nats://', '') });
    try {
      await Promise.all(Array.from({ length: 50 }, (_, i) => a.publish('to', String(i))));
      const { epoch, offset } = await a.position('to');
      expect(offset).toBe(50);
      const js = jetstream(nc);
      const jsm = await js.jetstreamManager();
      const lastSeq = (await jsm.streams.getMessage(prefix, { last_by_subj: `${prefix}.c.to` }))!.seq;
      // A holder that reserved the key, appended its tagged record, and died before committing.
      const kv = await new Kvm(js).open(`${prefix}_idempotency`);
      const name = `${keyPart('to')}.${keyPart('k')}`;
      const revision = await kv.create(
        name,
        JSON.stringify({ expires: Date.now() + 600_000, fingerprint: 'f', at: Date.now() - 20_000, from: lastSeq }),
      );
      const h = headers();
      h.set('Herald-Reservation', `${name}#${revision}`);
      const time = Date.now();
      await js.publish(`${prefix}.c.to`, recordBody(51, epoch, time, [serializeEnvelope('to', epoch, 51, time, '"keyed"')]), {
        headers: h,
        expect: { lastSubjectSequence: lastSeq },
        msgID: `${epoch}.51.to`,
      });
      await Promise.all(Array.from({ length: 100 }, (_, i) => b.publish('to', String(100 + i))));
      const retry = await a.publish('to', '"keyed"', { idempotencyKey: 'k', idempotencyTtl: 600, fingerprint: 'f' });
      expect(retry).toMatchObject({ duplicate: true, epoch, offset: 51 });
      const read = await a.read('to');
      expect(read.messages.map((m) => m.offset)).toEqual(Array.from({ length: 151 }, (_, i) => i + 1));
    } finally {
      await nc.close();
      await a.close();
      await b.close();
    }
  });
});
