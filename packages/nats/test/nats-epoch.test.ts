import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { NatsBroker } from '@herald/nats';
import { eventually } from '@herald/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deleteStreams, NATS_URL, testPrefix } from './nats-helpers.js';

const prefixes: string[] = [];
const open: NatsBroker[] = [];
afterEach(async () => {
  for (const broker of open.splice(0)) await broker.close();
});
afterAll(() => deleteStreams(NATS_URL, prefixes));

async function broker(options: { prefix?: string; historySize?: number } = {}): Promise<NatsBroker> {
  const prefix = options.prefix ?? testPrefix();
  prefixes.push(prefix);
  const opened = await NatsBroker.connect({ url: NATS_URL, prefix, healthInterval: 100, ...options });
  open.push(opened);
  return opened;
}

/** Messages the stream holds for the channel's subject (what trimming left). */
async function stored(prefix: string, channel: string): Promise<number> {
  const nc = await connect({ servers: NATS_URL.replace('nats://', '') });
  try {
    const subject = `${prefix}.c.${channel.replaceAll('.', '%')}`;
    const info = await (await jetstreamManager(nc)).streams.info(prefix, { subjects_filter: subject });
    return info.state.subjects?.[subject] ?? 0;
  } finally {
    await nc.close();
  }
}

describe('NatsBroker epochs and retention', () => {
  it('renewEpoch starts a new epoch with an empty log once; a stale renewal changes nothing; offsets go on from 1', async () => {
    const b = await broker();
    for (let i = 1; i <= 3; i++) await b.publish('renew', String(i));
    const before = await b.position('renew');
    await b.renewEpoch('renew', { epoch: before.epoch, offset: 5 });
    const after = await b.position('renew');
    expect(after.epoch).not.toBe(before.epoch);
    expect(after.offset).toBe(0);
    expect(await b.read('renew', { since: before })).toEqual({ messages: [], position: after, oldest: 1 });
    // Another node saw the same loss: the epoch already changed.
    await b.renewEpoch('renew', { epoch: before.epoch, offset: 5 });
    expect(await b.position('renew')).toEqual(after);
    const next = await b.publish('renew', '"again"');
    expect(next).toMatchObject({ epoch: after.epoch, offset: 1 });
    expect((await b.read('renew')).messages.map((m) => m.offset)).toEqual([1]);
  });

  it('a stream deleted and recreated gives its channels new epochs; publishes start at 1 there; the node learns it by itself', async () => {
    const prefix = testPrefix();
    const [a, b] = [await broker({ prefix }), await broker({ prefix })];
    const first = await a.publish('lost.log', '1');
    await a.publish('lost.log', '2');
    const empty = await b.position('never.published');
    const nc = await connect({ servers: NATS_URL.replace('nats://', '') });
    try {
      await (await jetstreamManager(nc)).streams.delete(prefix);
    } finally {
      await nc.close();
    }
    // a appends to the vanished stream: it recreates it and starts a new epoch at offset 1.
    const again = await a.publish('lost.log', '3');
    expect(again.offset).toBe(1);
    expect(again.epoch).not.toBe(first.epoch);
    expect(await b.position('lost.log')).toEqual({ epoch: again.epoch, offset: 1 });
    // An empty channel's epoch changes with the stream (b learns the new stream from its health probe).
    await eventually(async () => (await b.position('never.published')).epoch !== empty.epoch, 'a new epoch for an empty channel');
    expect((await a.position('never.published')).epoch).toBe((await b.position('never.published')).epoch);
  });

  it('trims what the history size hides from the stream, keeping the last record', async () => {
    const prefix = testPrefix();
    const b = await broker({ prefix, historySize: 5 });
    for (let i = 1; i <= 130; i++) await b.publish('trimmed', String(i));
    await eventually(async () => (await stored(prefix, 'trimmed')) <= 5 + 64, 'trimmed to at most 69 records');
    const read = await b.read('trimmed');
    expect(read.messages.map((m) => m.offset)).toEqual([126, 127, 128, 129, 130]);
    expect(read.oldest).toBe(126);
  });
});
