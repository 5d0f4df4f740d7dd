import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { NatsBroker } from '@herald/nats';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteStreams, NATS_URL, testPrefix } from './nats-helpers.js';

const prefixes: string[] = [];
afterAll(() => deleteStreams(NATS_URL, prefixes));

async function maxAgeSeconds(prefix: string): Promise<number> {
  const nc = await connect({ servers: NATS_URL.replace('nats://', '') });
  try {
    return (await (await jetstreamManager(nc)).streams.info(`KV_${prefix}_idempotency`)).config.max_age / 1e9;
  } finally {
    await nc.close();
  }
}

describe('NatsBroker idempotency bucket retention (review 2)', () => {
  it('a node started with a longer idempotencyRetention raises the existing bucket max age, never lowers it', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const base = { url: NATS_URL, prefix, historySize: 10, historyTtl: 0 };
    await (await NatsBroker.connect({ ...base, idempotencyRetention: 86_400 })).close();
    expect(await maxAgeSeconds(prefix)).toBe(86_400);
    // The operator raised idempotencyTtl to a week.
    await (await NatsBroker.connect({ ...base, idempotencyRetention: 7 * 86_400 })).close();
    expect(await maxAgeSeconds(prefix)).toBe(7 * 86_400);
    // A node still on the old setting does not shorten it for the others.
    await (await NatsBroker.connect({ ...base, idempotencyRetention: 86_400 })).close();
    expect(await maxAgeSeconds(prefix)).toBe(7 * 86_400);
  });
});
