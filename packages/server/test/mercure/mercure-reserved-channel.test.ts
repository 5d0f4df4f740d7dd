import { WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { post, publisher, startMercureHub } from './mercure-helpers.js';

// `~mercure` holds every update posted through the Mercure door, private ones included: Herald's own
// doors refuse it to every client, even on a hub without security (open), and serve it to the API key.

const CHANNEL = encodeURIComponent('~mercure');
let hub: TestHub | undefined;

afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

describe('the Mercure door’s own channel', () => {
  it('is refused to clients on an open hub: SSE, polling, history, presence, publish and WebSocket', async () => {
    hub = await startMercureHub();
    const posted = await post(
      hub.url,
      [
        ['topic', 'urn:secret'],
        ['data', 'private words'],
        ['private', 'on'],
      ],
      await publisher(),
    );
    expect(posted.status).toBe(200);
    for (const path of [
      `/events?channel=${CHANNEL}`,
      `/api/messages?channel=${CHANNEL}`,
      `/api/history?channel=${CHANNEL}`,
      `/api/presence?channel=${CHANNEL}`,
    ]) {
      const res = await fetch(`${hub.url}${path}`);
      const body = await res.text();
      expect([path, res.status]).toEqual([path, 403]);
      // The polling and history reads name the refused channel (a poller of several drops that one).
      const named = path.startsWith('/api/messages') || path.startsWith('/api/history');
      expect(JSON.parse(body)).toEqual({
        error: { code: 2001, message: "~mercure is reserved for the hub's own use", ...(named && { channel: CHANNEL }) },
      });
      expect(body).not.toContain('private words');
    }
    const publish = await fetch(`${hub.url}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: '~mercure', data: 'forged' }),
    });
    expect(publish.status).toBe(403);
    await publish.text();
    const ws = await WsTestClient.connect(`${hub.url.replace('http', 'ws')}/ws`);
    const reply = await ws.request({ type: 'subscribe', channel: '~mercure' });
    expect(reply.error).toEqual({ code: 2001, message: "~mercure is reserved for the hub's own use" });
    await ws.close();
  });

  it('is served to the API key (the backend)', async () => {
    hub = await startMercureHub({}, { security: { apiKeys: ['k'.repeat(32)] } });
    expect(
      (
        await post(
          hub.url,
          [
            ['topic', 'urn:a'],
            ['data', 'one'],
          ],
          await publisher(),
        )
      ).status,
    ).toBe(200);
    const res = await fetch(`${hub.url}/api/history?channel=${CHANNEL}`, { headers: { 'x-herald-key': 'k'.repeat(32) } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { messages: { data: { data: string } }[] };
    expect(body.messages.map((m) => m.data.data)).toEqual(['one']);
  });
});
