// @vitest-environment jsdom
import type { Envelope, TransportName } from '@herald/client/node';
import { DEFAULT_RELEASE_DELAY, HeraldProvider, useChannel, type UseChannelOptions } from '@herald/react';
import { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import { inAct, setupHarness, texts } from './harness.js';

const h = setupHarness();

interface FeedProps extends UseChannelOptions {
  readonly channel: string;
  readonly id?: string;
  readonly onMessage?: (message: Envelope) => void;
}

/** Renders a channel's kept messages (`li`), its last offset and its state. */
function Feed({ channel, id = 'feed', onMessage, ...options }: FeedProps) {
  const { messages, last, state, error } = useChannel(channel, onMessage, options);
  return (
    <section id={id} data-state={state} data-error={error === undefined ? '' : String(error.code)}>
      <ul>
        {messages.map((m) => (
          <li key={m.offset}>{JSON.stringify(m.data)}</li>
        ))}
      </ul>
      <output>{last?.offset ?? ''}</output>
    </section>
  );
}

const stateOf = (container: HTMLElement, id = 'feed'): string | undefined =>
  container.querySelector<HTMLElement>(`#${id}`)?.dataset['state'];
const publish = async (channel: string, ...values: unknown[]): Promise<void> => {
  for (const value of values) await h.hub.server.hub.publish(channel, value);
};

describe.each<TransportName>(['websocket', 'sse', 'polling'])('useChannel over %s', (transport) => {
  it('renders the messages published on the hub, in order, and calls onMessage once for each', async () => {
    const client = h.client({ transports: [transport], pollWait: 5 });
    const seen: number[] = [];
    const { container } = await h.mount(client, <Feed channel="live" onMessage={(m) => seen.push(m.offset)} />);
    await vi.waitFor(() => expect(stateOf(container)).toBe('subscribed'));
    await publish('live', { n: 1 }, { n: 2 }, { n: 3 });
    await vi.waitFor(() => expect(texts(container, 'li')).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']));
    expect(texts(container, 'output')).toEqual(['3']);
    expect(seen).toEqual([1, 2, 3]);
    expect(client.transport).toBe(transport);
  });
});

describe.each<TransportName>(['websocket', 'sse', 'polling'])('useChannel starts when it mounts, over %s', (transport) => {
  it('delivers what is published right after the component mounted, before the subscription is confirmed', async () => {
    await publish('early', 'before');
    // Older than a round trip on the hub's clock: not part of the subscription.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const client = h.client({ transports: [transport], pollWait: 5 });
    const { container } = await h.mount(client, <Feed channel="early" />);
    // Mounted (its effect subscribed); the transport is not up yet.
    await publish('early', 'right after mount');
    await vi.waitFor(() => expect(texts(container, 'li')).toEqual(['"right after mount"']));
    await publish('early', 'later');
    await vi.waitFor(() => expect(texts(container, 'li')).toEqual(['"right after mount"', '"later"']));
  });
});

describe('useChannel', () => {
  it('subscribes once under StrictMode and delivers each message once', async () => {
    const client = h.client();
    // Connected first: the client would otherwise absorb a subscribe/unsubscribe/subscribe made before it connects.
    await h.connected(client);
    const subscribe = vi.spyOn(client, 'subscribe');
    const seen: number[] = [];
    const { container } = await h.mount(client, <Feed channel="strict" onMessage={(m) => seen.push(m.offset)} />, { strict: true });
    await vi.waitFor(() => expect(stateOf(container)).toBe('subscribed'));
    await publish('strict', 1, 2, 3, 4, 5);
    await vi.waitFor(() => expect(texts(container, 'li')).toEqual(['1', '2', '3', '4', '5']));
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(subscribe).toHaveBeenCalledTimes(1);
    expect(h.presence.count('strict')).toEqual({ adds: 1, removes: 0 });
    expect(await h.hub.server.hub.presence('strict')).toHaveLength(1);
  });

  it('unsubscribes once the release delay has passed after the last component unmounted', async () => {
    const client = h.client();
    const mounted = await h.mount(client, <Feed channel="bye" />, { strict: true });
    await vi.waitFor(() => expect(stateOf(mounted.container)).toBe('subscribed'));
    expect(await h.hub.server.hub.presence('bye')).toHaveLength(1);
    await mounted.unmount();
    const unmountedAt = performance.now();
    await expect.poll(() => h.hub.server.hub.presence('bye')).toEqual([]);
    expect(performance.now() - unmountedAt).toBeGreaterThanOrEqual(DEFAULT_RELEASE_DELAY - 1);
    expect(h.presence.count('bye')).toEqual({ adds: 1, removes: 1 });
    expect(client.state).toBe('connected');
  });

  it('keeps the subscription and its messages when a component remounts within the release delay', async () => {
    // A longer delay than the default, so a slow machine still remounts within it.
    const releaseDelay = 300;
    const client = h.client();
    const first = await h.mount(client, <Feed channel="move" />, { releaseDelay });
    await vi.waitFor(() => expect(stateOf(first.container)).toBe('subscribed'));
    await publish('move', 1);
    await vi.waitFor(() => expect(texts(first.container, 'li')).toEqual(['1']));
    await first.unmount();
    const second = await h.mount(client, <Feed channel="move" />, { releaseDelay });
    expect(texts(second.container, 'li')).toEqual(['1']);
    await publish('move', 2);
    await vi.waitFor(() => expect(texts(second.container, 'li')).toEqual(['1', '2']));
    // Let the release delay pass, then make a round trip on the same socket: an unsubscribe sent
    // before it would have reached the hub by the time the answer comes back.
    await new Promise((resolve) => setTimeout(resolve, releaseDelay * 2));
    expect(await client.presence('move')).toHaveLength(1);
    expect(h.presence.count('move')).toEqual({ adds: 1, removes: 0 });
  });

  it('shares one subscription between components, each keeping its own number of messages', async () => {
    const client = h.client();
    await h.connected(client);
    const subscribe = vi.spyOn(client, 'subscribe');
    const { container } = await h.mount(
      client,
      <>
        <Feed id="a" channel="shared" keep={2} />
        <Feed id="b" channel="shared" />
        <Feed id="c" channel="shared" keep={0} />
      </>,
      { strict: true },
    );
    await vi.waitFor(() => expect(stateOf(container, 'a')).toBe('subscribed'));
    await publish('shared', 1, 2, 3, 4);
    await vi.waitFor(() => expect(texts(container, '#b li')).toEqual(['1', '2', '3', '4']));
    expect(texts(container, '#a li')).toEqual(['3', '4']);
    expect(texts(container, '#c li')).toEqual([]);
    expect(texts(container, 'output')).toEqual(['4', '4', '4']);
    expect(subscribe).toHaveBeenCalledTimes(1);
    expect(h.presence.count('shared')).toEqual({ adds: 1, removes: 0 });
  });

  it('uses the latest onMessage without subscribing again', async () => {
    const client = h.client();
    const subscribe = vi.spyOn(client, 'subscribe');
    const first: number[] = [];
    const second: number[] = [];
    const mounted = await h.mount(client, <Feed channel="handler" onMessage={(m) => first.push(m.offset)} />);
    await vi.waitFor(() => expect(stateOf(mounted.container)).toBe('subscribed'));
    await publish('handler', 1);
    await vi.waitFor(() => expect(first).toEqual([1]));
    await mounted.rerender(<Feed channel="handler" onMessage={(m) => second.push(m.offset)} />);
    await publish('handler', 2, 3);
    await vi.waitFor(() => expect(second).toEqual([2, 3]));
    expect(first).toEqual([1]);
    expect(subscribe).toHaveBeenCalledTimes(1);
  });

  it('subscribes only while enabled', async () => {
    const client = h.client();
    const subscribe = vi.spyOn(client, 'subscribe');
    const mounted = await h.mount(client, <Feed channel="gate" enabled={false} />);
    expect(stateOf(mounted.container)).toBe('unsubscribed');
    expect(subscribe).not.toHaveBeenCalled();
    expect(client.state).toBe('idle');
    await mounted.rerender(<Feed channel="gate" />);
    await vi.waitFor(() => expect(stateOf(mounted.container)).toBe('subscribed'));
    expect(await h.hub.server.hub.presence('gate')).toHaveLength(1);
    await mounted.rerender(<Feed channel="gate" enabled={false} />);
    expect(stateOf(mounted.container)).toBe('unsubscribed');
    await expect.poll(() => h.hub.server.hub.presence('gate')).toEqual([]);
  });

  it('replays the messages after `since` first', async () => {
    await publish('replay', 1, 2, 3, 4, 5);
    const { epoch } = await h.hub.server.hub.position('replay');
    const client = h.client();
    const { container } = await h.mount(client, <Feed channel="replay" since={{ epoch, offset: 2 }} />, { strict: true });
    await vi.waitFor(() => expect(texts(container, 'li')).toEqual(['3', '4', '5']));
    await publish('replay', 6);
    await vi.waitFor(() => expect(texts(container, 'li')).toEqual(['3', '4', '5', '6']));
  });

  it('reports the error when the hub refuses the channel', async () => {
    const client = h.client();
    await h.connected(client);
    const { container } = await h.mount(client, <Feed channel="bad channel" />);
    await vi.waitFor(() => expect(container.querySelector<HTMLElement>('#feed')?.dataset['error']).toBe('1003'));
  });

  it('reports the error when the refused channel is the one that connects the client', async () => {
    const client = h.client();
    const { container } = await h.mount(client, <Feed channel="bad channel" />);
    await vi.waitFor(() => expect(container.querySelector<HTMLElement>('#feed')?.dataset['error']).toBe('1003'), { timeout: 1000 });
  });

  it('publishes to its channel with the payload type of the registered channel map', async () => {
    function Composer() {
      const { publish, messages } = useChannel('chat');
      expectTypeOf(messages).toEqualTypeOf<readonly Envelope<{ text: string }>[]>();
      expectTypeOf(publish).parameter(0).toEqualTypeOf<{ text: string }>();
      // @ts-expect-error a chat message's text is a string
      expectTypeOf(publish).toBeCallableWith({ text: 1 });
      const [stored, setStored] = useState('');
      return (
        <>
          <button type="button" onClick={() => void publish({ text: 'hello' }).then((result) => setStored(String(result.offset)))} />
          <output>{stored}</output>
          <ul>
            {messages.map((m) => (
              <li key={m.offset}>{m.data.text}</li>
            ))}
          </ul>
        </>
      );
    }
    const client = h.client();
    const { container } = await h.mount(client, <Composer />);
    await h.connected(client);
    container.querySelector('button')!.click();
    await vi.waitFor(() => expect(texts(container, 'output')).toEqual(['1']));
    const read = await h.hub.server.hub.read('chat');
    expect(read.messages.map((m) => JSON.parse(m.json).data)).toEqual([{ text: 'hello' }]);
    await vi.waitFor(() => expect(texts(container, 'li')).toEqual(['hello']));
  });

  it('throws outside a HeraldProvider, and on a bad keep', async () => {
    const outside = createRoot(document.createElement('div'));
    await expect(inAct(() => outside.render(<Feed channel="x" />))).rejects.toThrow(
      new Error('useChannel must be used inside a <HeraldProvider>'),
    );
    await inAct(() => outside.unmount());
    const client = h.client();
    const root = createRoot(document.createElement('div'));
    await expect(
      inAct(() =>
        root.render(
          <HeraldProvider client={client}>
            <Feed channel="x" keep={1.5} />
          </HeraldProvider>,
        ),
      ),
    ).rejects.toThrow(new RangeError('keep must be a non-negative integer'));
    await inAct(() => root.unmount());
  });
});
