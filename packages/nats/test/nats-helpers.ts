import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/** The shared NATS with JetStream the tests use (never stopped by them). */
export const NATS_URL = process.env['HERALD_TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222';

/** A prefix no other test run uses: its own stream and buckets. */
export function testPrefix(): string {
  return `HT_${randomBytes(5).toString('hex')}`;
}

/** Deletes the streams of `prefixes` (the channel log and the KV buckets' streams). */
export async function deleteStreams(url: string, prefixes: readonly string[]): Promise<void> {
  const nc = await connect({ servers: url.replace(/^nats:\/\//, '').split(',') });
  try {
    const jsm = await jetstreamManager(nc);
    for await (const name of jsm.streams.names()) {
      if (prefixes.some((prefix) => name === prefix || name.startsWith(`KV_${prefix}_`))) await jsm.streams.delete(name);
    }
  } finally {
    await nc.close();
  }
}

/** The index (0-based, server `n<index + 1>` of `startNatsCluster`) of the stream's leader. */
export async function streamLeader(url: string, stream: string): Promise<number> {
  const nc = await connect({ servers: url.replace(/^nats:\/\//, '').split(',') });
  try {
    const info = await (await jetstreamManager(nc)).streams.info(stream);
    const leader = info.cluster?.leader;
    if (leader === undefined || !/^n\d+$/.test(leader)) throw new Error(`stream ${stream} has no leader`);
    return Number(leader.slice(1)) - 1;
  } finally {
    await nc.close();
  }
}
