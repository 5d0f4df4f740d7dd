import { parseCursor } from '@herald/protocol';
import { WsTestClient, type TestHub } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JwtAuthenticator, Permissions } from '@herald/server';
import { bearer, guardSuite, HS_SECRET, remember, startHub, tokenFor } from './suite.js';
import { httpRequest } from './wire.js';

/**
 * Review of issue 9, item 2: a signed position must not open the backlog through a gap. A hub that
 * cannot tell which retained messages came after the client's position (another epoch: here a
 * second log that shares the cursor key; or a log behind the position) used to resume the gap at
 * the oldest retained message, replaying the whole backlog to a client without `history` and
 * handing it a signed cursor at the start of the window. It now resumes such a client at the end.
 */

guardSuite();

const permissions = new Permissions({ room: { subscribe: 'authenticated', publish: 'none', history: 'granted', presence: 'none' } });
const CHANNEL = 'room:1';
const secrets = [remember('signed-gap-shared-cursor-secret-0123456789')];
let a: TestHub;
let b: TestHub;
let token: string;

beforeAll(async () => {
  const security = { authenticator: new JwtAuthenticator({ secret: HS_SECRET }), permissions, cursorSecrets: secrets };
  a = await startHub({ security: { ...security, apiKeys: [remember('signed-gap-api-key-a-0123456789')] } });
  b = await startHub({ security: { ...security, apiKeys: [remember('signed-gap-api-key-b-0123456789')] } });
  token = await tokenFor('mallory');
  for (let i = 1; i <= 5; i++) await b.server.hub.publish(CHANNEL, { secret: `backlog of b ${i}` });
});
afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
});

/** A signed cursor of hub a for CHANNEL (a's log, another epoch than b's). */
async function cursorOfA(): Promise<string> {
  const answer = await httpRequest(`${a.url}/api/messages?channel=${CHANNEL}`, { headers: bearer(token) });
  expect(answer.status).toBe(200);
  return answer.json.cursor as string;
}

describe('an epoch gap does not replay the backlog to a client without history', () => {
  it('WebSocket: subscribe with a signed cursor of another epoch resumes at the end', async () => {
    const since = await cursorOfA();
    const client = await WsTestClient.connect(b.wsUrl, { headers: bearer(token) });
    try {
      const reply = await client.request({ type: 'subscribe', channel: CHANNEL, since });
      expect(reply.error).toBeUndefined();
      const { offset: top } = await b.server.hub.position(CHANNEL);
      expect(reply.position.offset).toBe(top);
      await client.request({ type: 'ping' });
      expect(client.messages()).toEqual([]);
      const gap = client.frames.items.find((f) => f.type === 'gap');
      expect(gap).toMatchObject({ reason: 'epoch', resumed: { offset: top } });
      const signed = parseCursor(gap.cursor);
      expect(signed.ok && signed.value.get(CHANNEL)?.offset).toBe(top);
    } finally {
      await client.close();
    }
  });

  it('polling: a signed cursor of another epoch answers no backlog and a cursor at the end', async () => {
    const since = await cursorOfA();
    const { offset: top } = await b.server.hub.position(CHANNEL);
    for (const wait of ['0', '1']) {
      const answer = await httpRequest(`${b.url}/api/messages?${new URLSearchParams({ channel: CHANNEL, since, wait }).toString()}`, {
        headers: bearer(token),
      });
      expect(answer.status).toBe(200);
      expect(answer.json.messages).toEqual([]);
      expect(answer.json.gaps).toMatchObject([{ reason: 'epoch', resumed: { offset: top } }]);
      const cursor = parseCursor(answer.json.cursor);
      expect(cursor.ok && cursor.value.get(CHANNEL)?.offset).toBe(top);
    }
  });

  it('a client with history still gets the retained messages after an epoch gap', async () => {
    const history = await tokenFor('reader', { herald: { history: ['room:*'] } });
    const answer = await httpRequest(
      `${b.url}/api/messages?${new URLSearchParams({ channel: CHANNEL, since: await cursorOfA() }).toString()}`,
      { headers: bearer(history) },
    );
    expect(answer.status).toBe(200);
    expect(answer.json.messages).toHaveLength(5);
    expect(answer.json.gaps).toMatchObject([{ reason: 'epoch', resumed: { offset: 0 } }]);
  });
});
