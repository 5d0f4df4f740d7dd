import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { NatsBroker } from '@herald/nats';
import { startNatsServer, type TestNatsCluster } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let server: TestNatsCluster;
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(() => server.close());

describe('NatsBroker after its stream was deleted, with two nodes (review 2)', () => {
  it('a node that has not noticed the recreated stream still appends in a new epoch, never reusing offsets of the old one', async () => {
    // Health probes far apart: node B cannot learn of the new stream from its probe during the test.
    const options = { url: server.url, prefix: 'RVEPOCH', historySize: 100, historyTtl: 0, healthInterval: 600_000 };
    const a = await NatsBroker.connect(options);
    const b = await NatsBroker.connect(options);
    let resets = 0;
    b.setHandler({
      onMessage: () => undefined,
      onPresenceEvent: () => undefined,
      onLiveReset: () => {
        resets++;
      },
    });
    try {
      const first = [];
      for (let i = 0; i < 3; i++) first.push(await b.publish('room', JSON.stringify(i)));
      expect(first.map((m) => m.offset)).toEqual([1, 2, 3]);
      const nc = await connect({ servers: server.url.replace('nats://', '') });
      try {
        await (await jetstreamManager(nc)).streams.delete('RVEPOCH');
      } finally {
        await nc.close();
      }
      await a.publish('other', '"x"'); // A finds no stream and recreates it (a new identity)
      const after = [await b.publish('room', '10'), await b.publish('room', '11')];
      expect(after.map((m) => m.offset)).toEqual([1, 2]);
      // A client at E0:3 must see an epoch change, not offsets 1, 2 it believes it has.
      expect(after[0]!.epoch).not.toBe(first[0]!.epoch);
      expect(after[1]!.epoch).toBe(after[0]!.epoch);
      // B noticed the recreation itself (its probe did not run): the hub checks every position.
      expect(resets).toBe(1);
      expect((await a.read('room')).position).toEqual({ epoch: after[0]!.epoch, offset: 2 });
      // An empty channel's position, asked of the node that did not recreate the stream, is the new stream's.
      expect(await b.position('never')).toEqual(await a.position('never'));
    } finally {
      await a.close();
      await b.close();
    }
  });
});
