// @vitest-environment jsdom
import type { TransportName } from '@herald/client/node';
import { useChannel, usePresence } from '@herald/react';
import { describe, expect, it, vi } from 'vitest';
import { setupHarness, texts } from './harness.js';

const h = setupHarness();

/** Lists a channel's members by session id (`li`), with `data-ready`. */
function Members({ channel, id = 'members' }: { readonly channel: string; readonly id?: string }) {
  const { members, ready } = usePresence(channel);
  return (
    <ul id={id} data-ready={String(ready)}>
      {members.map((m) => (
        <li key={m.client} data-user={m.user ?? ''}>
          {m.client}
        </li>
      ))}
    </ul>
  );
}

const sorted = (values: string[]): string[] => [...values].sort();
const hubMembers = async (channel: string): Promise<string[]> => sorted((await h.hub.server.hub.presence(channel)).map((m) => m.client));
const subscribed = (client: ReturnType<typeof h.client>, channel: string): Promise<void> =>
  new Promise((resolve) => client.subscribe(channel).on('state', (state) => state === 'subscribed' && resolve()));

describe.each<TransportName>(['websocket', 'sse'])('usePresence over %s', (transport) => {
  it('lists the members already there, then follows joins and leaves', async () => {
    const early = h.client({ transports: [transport] });
    await subscribed(early, 'room');
    const [earlyId] = await hubMembers('room');
    const client = h.client({ transports: [transport] });
    await h.connected(client);
    const subscribe = vi.spyOn(client, 'subscribe');
    const { container } = await h.mount(
      client,
      <>
        <Members channel="room" />
        <Members channel="room" id="again" />
      </>,
      { strict: true },
    );
    await vi.waitFor(() => expect(container.querySelector<HTMLElement>('#members')?.dataset['ready']).toBe('true'));
    const [ownId] = (await hubMembers('room')).filter((id) => id !== earlyId);
    await vi.waitFor(() => expect(sorted(texts(container, '#members li'))).toEqual(sorted([earlyId!, ownId!])));
    expect(texts(container, '#members li[data-user=""]')).toHaveLength(2);

    const late = h.client({ transports: [transport] });
    await subscribed(late, 'room');
    const lateId = (await hubMembers('room')).find((id) => id !== earlyId && id !== ownId)!;
    await vi.waitFor(() => expect(sorted(texts(container, '#members li'))).toEqual(sorted([earlyId!, ownId!, lateId])));

    early.close();
    late.close();
    await vi.waitFor(() => expect(texts(container, '#members li')).toEqual([ownId]));
    expect(texts(container, '#again li')).toEqual([ownId]);
    expect(subscribe).toHaveBeenCalledTimes(1);
  });

  it('reads the members again after a reconnect', async () => {
    const other = h.client({ transports: [transport] });
    await subscribed(other, 'reconnect');
    const client = h.client({ transports: [transport] });
    const { container } = await h.mount(client, <Members channel="reconnect" />);
    await vi.waitFor(() => expect(texts(container, 'li')).toHaveLength(2));
    const before = sorted(texts(container, 'li'));
    h.hub.server.dropConnections();
    // Both sessions come back with new ids; the leaves of the old ones happened while this client was away.
    await vi.waitFor(async () => {
      const now = await hubMembers('reconnect');
      expect(now).toHaveLength(2);
      expect(now.some((id) => before.includes(id))).toBe(false);
      expect(sorted(texts(container, 'li'))).toEqual(now);
    });
  });
});

describe('usePresence', () => {
  it('stops being a member after the release delay once unmounted', async () => {
    const client = h.client();
    const mounted = await h.mount(client, <Members channel="gone" />, { strict: true });
    await vi.waitFor(() => expect(texts(mounted.container, 'li')).toHaveLength(1));
    await mounted.unmount();
    await expect.poll(() => hubMembers('gone')).toEqual([]);
    expect(h.presence.count('gone')).toEqual({ adds: 1, removes: 1 });
  });

  it('follows joins when useChannel subscribed to the channel first', async () => {
    function Feed() {
      useChannel('both');
      return null;
    }
    const client = h.client();
    const { container, rerender } = await h.mount(client, <Feed />);
    await vi.waitFor(async () => expect(await hubMembers('both')).toHaveLength(1));
    await rerender(
      <>
        <Feed />
        <Members channel="both" />
      </>,
    );
    await vi.waitFor(() => expect(texts(container, 'li')).toHaveLength(1));
    const other = h.client();
    await subscribed(other, 'both');
    await vi.waitFor(() => expect(texts(container, 'li')).toHaveLength(2), { timeout: 1000 });
  });
});
