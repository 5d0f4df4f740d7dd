import { createClient, type Envelope, type PublishResult, type Subscription } from '@herald/client';
import { describe, expect, expectTypeOf, it } from 'vitest';

interface Channels {
  chat: { user: string; text: string };
  'prices:eur': number;
}

describe('typed channels (checked by tsc in npm test)', () => {
  it('types subscribe, handlers, publish and history through the channel map', () => {
    const client = createClient<Channels>({
      url: 'http://127.0.0.1:1',
      fetch: () => Promise.reject(new Error('offline')),
      reconnect: false,
    });
    const sub = client.subscribe('chat', (m) => {
      expectTypeOf(m).toEqualTypeOf<Envelope<{ user: string; text: string }>>();
      expectTypeOf(m.data.text).toBeString();
    });
    expectTypeOf(sub).toEqualTypeOf<Subscription<{ user: string; text: string }>>();
    expectTypeOf(sub.publish).parameter(0).toEqualTypeOf<{ user: string; text: string }>();
    expectTypeOf(sub.publish).returns.toEqualTypeOf<Promise<PublishResult>>();
    expectTypeOf(client.publish<'prices:eur'>)
      .parameter(1)
      .toBeNumber();
    // @ts-expect-error: not a channel of the map
    client.subscribe('nope');
    // @ts-expect-error: wrong payload type for this channel
    void sub.publish({ user: 'a' }).catch(() => undefined);
    // @ts-expect-error: number channel takes numbers
    void client.publish('prices:eur', 'high').catch(() => undefined);
    client.close();
    expect(client.state).toBe('closed');
  });

  it('defaults to unknown payloads on any channel name', () => {
    const client = createClient({ url: 'http://127.0.0.1:1', reconnect: false, fetch: () => Promise.reject(new Error('offline')) });
    const sub = client.subscribe('anything', (m) => expectTypeOf(m.data).toBeUnknown());
    expectTypeOf(sub).toEqualTypeOf<Subscription>();
    client.close();
  });
});
