import { createRequire } from 'node:module';
import { NatsBroker } from '@herald/nats';
import { startNatsServer, type TestNatsCluster } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The JetStream client class the broker publishes through (the same module instance): the test
// stalls the server just as the append leaves, so that the append is stored after the client gave up.
const require = createRequire(import.meta.url);
const { JetStreamClientImpl } = require('@nats-io/jetstream/internal') as {
  JetStreamClientImpl: { prototype: { publish: (subject: string, ...rest: unknown[]) => Promise<unknown> } };
};

let server: TestNatsCluster;
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(() => server.close());

describe('NatsBroker idempotent publish whose append got no answer (review 2)', () => {
  it('a retry with the same key after the first attempt timed out (but was stored) is a duplicate, not a second message', async () => {
    const pid = server.pid(0)!;
    const broker = await NatsBroker.connect({ url: server.url, prefix: 'RVIDEM', historySize: 100, historyTtl: 0, commandTimeout: 1000 });
    const original = JetStreamClientImpl.prototype.publish;
    try {
      await broker.publish('ch', '"before"');
      let stall = true;
      JetStreamClientImpl.prototype.publish = async function (this: unknown, subject: string, ...rest: unknown[]) {
        if (stall && subject === 'RVIDEM.c.ch') {
          stall = false;
          process.kill(pid, 'SIGSTOP');
          setTimeout(() => process.kill(pid, 'SIGCONT'), 2500);
          // The stop has surely taken hold before the append goes out (under load it could land late).
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return original.call(this, subject, ...rest);
      };
      const key = { idempotencyKey: 'k1', idempotencyTtl: 600, fingerprint: 'f1' };
      await expect(broker.publish('ch', '"pay"', key)).rejects.toThrow();
      JetStreamClientImpl.prototype.publish = original;
      let second: Awaited<ReturnType<typeof broker.publish>> | undefined;
      for (let attempt = 0; second === undefined && attempt < 40; attempt++) {
        try {
          second = await broker.publish('ch', '"pay"', key);
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
      const log = await broker.read('ch');
      const pays = log.messages.filter((m) => m.json.includes('pay'));
      expect(pays).toHaveLength(1);
      expect(second).toMatchObject({ duplicate: true, epoch: pays[0]!.epoch, offset: pays[0]!.offset, fingerprint: 'f1' });
      // The key now holds that position: a third publish is a duplicate at once.
      expect(await broker.publish('ch', '"pay"', key)).toMatchObject({ duplicate: true, offset: pays[0]!.offset });
    } finally {
      JetStreamClientImpl.prototype.publish = original;
      await broker.close();
    }
  }, 60_000);
});
