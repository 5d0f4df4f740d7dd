import { MemoryBroker } from '@herald/server';
import { eventually, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { startMercureHub, subscribe } from './mercure-helpers.js';

// Subscription events go on `~mercure` only: opening and closing streams must not leave a channel
// log per selector and per subscriber (`/.well-known/mercure/subscriptions/{topic}/urn:uuid:…`).

/** A memory engine that remembers every channel a position or a publish touched (each one a log). */
class TouchedBroker extends MemoryBroker {
  readonly touched = new Set<string>();
  override position(channel: string): ReturnType<MemoryBroker['position']> {
    this.touched.add(channel);
    return super.position(channel);
  }
  constructor() {
    super();
    const publish = this.publish.bind(this) as (...args: unknown[]) => unknown;
    this.publish = ((channel: string, ...rest: unknown[]) => {
      this.touched.add(channel);
      return publish(channel, ...rest);
    }) as MemoryBroker['publish'];
  }
}

let hub: TestHub | undefined;

afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

describe('subscription events', () => {
  it('are stored on ~mercure only: no channel log per subscriber and selector', async () => {
    const broker = new TouchedBroker();
    hub = await startMercureHub({ anonymous: true, subscriptions: true }, { broker });
    for (let i = 0; i < 3; i++) {
      const client = await subscribe(hub.url, ['urn:a', 'urn:b/{x}']);
      await client.close();
    }
    // Three streams × two selectors × (active, inactive).
    await eventually(() => broker.read('~mercure').then((r) => r.messages.length >= 12), 'twelve subscription events');
    expect([...broker.touched].filter((c) => c.startsWith('/.well-known/'))).toEqual([]);
  });
});
