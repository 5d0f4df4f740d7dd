import { RecordingSink, type TestHub, type WsTestClient } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { API_KEY, connectAs, startEventHub, tokenFor } from './helpers.js';

async function post(hub: TestHub, body: unknown, headers: Record<string, string> = {}): Promise<any> {
  const res = await fetch(`${hub.url}/api/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return res.json();
}

describe('webhook events: client_publish', () => {
  let hub: TestHub | undefined;
  const clients: WsTestClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    await hub?.close();
    hub = undefined;
  });
  const connect = async (user?: string | { apiKey: true }): Promise<WsTestClient> => {
    const client = await connectAs(hub!.wsUrl, user);
    clients.push(client);
    return client;
  };

  it('a WebSocket client publish: user, session, data as stored, epoch and offset; a duplicate emits nothing', async () => {
    const sink = new RecordingSink();
    hub = await startEventHub(sink);
    const alice = await connect('alice');
    // The session's id, as its presence member shows it.
    await alice.request({ type: 'subscribe', channel: 'chat' });
    const self = (await alice.request({ type: 'presence', channel: 'chat' })).members[0].client as string;
    const first = await alice.request({ type: 'publish', channel: 'chat', data: { text: 'hi' }, idempotencyKey: 'm1' });
    const again = await alice.request({ type: 'publish', channel: 'chat', data: { text: 'hi' }, idempotencyKey: 'm1' });
    expect(again.duplicate).toBe(true);
    const anonymous = await connect();
    const second = await anonymous.request({ type: 'publish', channel: 'chat', data: 2 });
    expect(sink.of('client_publish')).toEqual([
      {
        type: 'client_publish',
        channel: 'chat',
        user: 'alice',
        client: self,
        data: { text: 'hi' },
        epoch: first.epoch,
        offset: first.offset,
      },
      { type: 'client_publish', channel: 'chat', user: null, client: expect.any(String), data: 2, epoch: second.epoch, offset: 2 },
    ]);
    expect(sink.of('client_publish')[1]!['client']).not.toBe(self);
    const event = sink.events.items.find((e) => e.type === 'client_publish')!;
    expect(event.id).toEqual(expect.any(String));
    expect(event.time).toEqual(expect.any(Number));
  });

  it('HTTP client publishes, single and batch, each request its own client id; not API key publishes', async () => {
    const sink = new RecordingSink();
    hub = await startEventHub(sink);
    const bearer = { Authorization: `Bearer ${await tokenFor('bob')}` };
    const one = await post(hub, { channel: 'feed', data: 'one' }, bearer);
    const batch = await post(
      hub,
      {
        messages: [
          { channel: 'feed', data: 'two' },
          { channel: 'other', data: 'three' },
        ],
      },
      bearer,
    );
    await post(hub, { channel: 'feed', data: 'backend' }, { 'X-Herald-Key': API_KEY });
    await post(hub, { messages: [{ channel: 'feed', data: 'backend batch' }] }, { 'X-Herald-Key': API_KEY });
    const backend = await connect({ apiKey: true });
    await backend.request({ type: 'publish', channel: 'feed', data: 'backend ws' });
    // Hub.publish without a publisher (the embedding API) is no client publish either.
    await hub.server.hub.publish('feed', 'embedded');
    const events = sink.of('client_publish');
    expect(events).toEqual([
      { type: 'client_publish', channel: 'feed', user: 'bob', client: expect.any(String), data: 'one', epoch: one.epoch, offset: 1 },
      { type: 'client_publish', channel: 'feed', user: 'bob', client: expect.any(String), data: 'two', epoch: one.epoch, offset: 2 },
      {
        type: 'client_publish',
        channel: 'other',
        user: 'bob',
        client: expect.any(String),
        data: 'three',
        epoch: batch.results[1].epoch,
        offset: 1,
      },
    ]);
    expect(events[0]!['client']).not.toBe(events[1]!['client']);
    expect(events[1]!['client']).toBe(events[2]!['client']);
  });

  it('nothing is emitted when the sink does not want client_publish', async () => {
    const sink = new RecordingSink(['presence_join']);
    hub = await startEventHub(sink);
    await post(hub, { channel: 'feed', data: 1 });
    expect(sink.of('client_publish')).toEqual([]);
  });
});
