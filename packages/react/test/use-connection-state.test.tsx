// @vitest-environment jsdom
import type { TransportName } from '@herald/client/node';
import { useChannel, useConnectionState } from '@herald/react';
import { describe, expect, it, vi } from 'vitest';
import { setupHarness, texts } from './harness.js';

const h = setupHarness();

/** Shows `state/transport`, and logs every distinct value it rendered. */
function Status({ log }: { readonly log: string[] }) {
  const { state, transport } = useConnectionState();
  const shown = `${state}/${transport ?? '-'}`;
  if (log.at(-1) !== shown) log.push(shown);
  return <p>{shown}</p>;
}

function Subscriber({ channel }: { readonly channel: string }) {
  useChannel(channel);
  return null;
}

describe.each<TransportName>(['websocket', 'sse', 'polling'])('useConnectionState over %s', (transport) => {
  it('follows the client from idle to connected, through a reconnect, to closed', async () => {
    const client = h.client({ transports: [transport], pollWait: 5 });
    const log: string[] = [];
    const mounted = await h.mount(client, <Status log={log} />, { strict: true });
    expect(texts(mounted.container, 'p')).toEqual(['idle/-']);
    await mounted.rerender(
      <>
        <Status log={log} />
        <Subscriber channel="status" />
      </>,
    );
    await vi.waitFor(() => expect(texts(mounted.container, 'p')).toEqual([`connected/${transport}`]));
    if (transport !== 'polling') {
      // A long poll holds no connection to drop.
      h.hub.server.dropConnections();
      await vi.waitFor(() => expect(log.slice(-2)).toEqual([`reconnecting/-`, `connected/${transport}`]));
    }
    client.close();
    await vi.waitFor(() => expect(texts(mounted.container, 'p')).toEqual(['closed/-']));
    const expected = [
      'idle/-',
      'connecting/-',
      `connected/${transport}`,
      ...(transport === 'polling' ? [] : ['reconnecting/-', `connected/${transport}`]),
      'closed/-',
    ];
    expect(log).toEqual(expected);
  });
});
