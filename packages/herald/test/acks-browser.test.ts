import { ALLOW_ALL, JwtAuthenticator, Permissions } from '@herald/server';
import { eventually } from '@herald/testkit';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { WAIT_MS } from './demo-page.js';
import { useSdkBrowser } from './sdk-page.js';

// The SDK's `ack: 'auto'` in Debian's Chromium, with the browser bundle, on each transport: the
// messages a page's handler processed show up as the user's acknowledged position in GET /api/acks,
// in a handful of acks rather than one per message.

type TransportName = 'websocket' | 'sse' | 'polling';

const SECRET = 'acks-browser-test-secret-0123456789abcdef';
const API_KEY = 'b'.repeat(32);
const hub = useSdkBrowser(() => ({
  options: {
    security: {
      authenticator: new JwtAuthenticator({ secret: SECRET }),
      apiKeys: [API_KEY],
      permissions: new Permissions({}, ALLOW_ALL),
    },
  },
}));

async function acked(channel: string, user: string): Promise<number | undefined> {
  const res = await fetch(`${hub.url}/api/acks?channel=${channel}&user=${user}`, { headers: { 'x-herald-key': API_KEY } });
  return ((await res.json()) as { acks: { offset: number }[] }).acks[0]?.offset;
}

describe.each<TransportName>(['websocket', 'sse', 'polling'])('ack: auto in Chromium over %s', (transport) => {
  it('acknowledges what the page processed, coalesced', async () => {
    const user = `browser-${transport}`;
    const channel = `acks:${transport}-${Date.now()}`;
    const token = await new SignJWT({ sub: user, exp: Math.floor(Date.now() / 1000) + 3600 })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET));
    const { page, errors } = await hub.open({
      script: `
          // The acks the SDK sends, counted in the page (Playwright's framesent events missed
          // frames under load in CI): WebSocket ack commands and POST /api/ack bodies.
          window.acks = [];
          const send = WebSocket.prototype.send;
          WebSocket.prototype.send = function (data) {
            if (typeof data === 'string') {
              const sent = JSON.parse(data);
              if (sent.type === 'ack') window.acks.push(sent.offset);
            }
            return send.call(this, data);
          };
          const fetch = window.fetch;
          window.fetch = (input, init) => {
            if (new URL(String(input), location.href).pathname === '/api/ack') window.acks.push(JSON.parse(init.body).offset);
            return fetch(input, init);
          };
          const { createClient } = await import('/sdk/herald-client.js');
          const client = createClient({ url: location.origin, transports: ['${transport}'], token: '${token}', pollWait: 5, ackInterval: 100 });
          window.seen = [];
          window.state = '';
          const sub = client.subscribe('${channel}', (m) => { window.seen.push(m.offset); }, { ack: 'auto' });
          sub.on('state', (s) => (window.state = s));
        `,
    });
    try {
      await page.waitForFunction(`window.state === 'subscribed'`, undefined, { timeout: WAIT_MS });
      const res = await fetch(`${hub.url}/api/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-herald-key': API_KEY },
        body: JSON.stringify({ messages: Array.from({ length: 50 }, (_, i) => ({ channel, data: i })) }),
      });
      expect(res.status).toBe(200);
      await res.body?.cancel();
      await page.waitForFunction('window.seen.length === 50', undefined, { timeout: WAIT_MS });
      await eventually(async () => (await acked(channel, user)) === 50, 'the hub to show offset 50', {
        timeoutMs: WAIT_MS,
        intervalMs: 50,
      });
      const acks = await page.evaluate<number[]>('window.acks');
      expect(acks.at(-1)).toBe(50);
      expect(acks.length).toBeLessThan(10);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
