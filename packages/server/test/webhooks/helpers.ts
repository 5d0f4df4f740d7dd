import { JwtAuthenticator, type HeraldServerOptions } from '@herald/server';
import { RecordingSink, startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { SignJWT } from 'jose';

/** The HS256 secret of these tests' hubs. */
export const SECRET = 'webhook-events-test-secret-0123456789abcdef';
/** The API key of these tests' hubs (a backend). */
export const API_KEY = 'k'.repeat(32);

/** An HS256 token for `sub`, valid for an hour. */
export function tokenFor(sub: string): Promise<string> {
  return new SignJWT({ sub, exp: Math.floor(Date.now() / 1000) + 3600 })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(SECRET));
}

/** A hub (memory engine unless given) whose webhook events go to `sink`; JWT users and the API key. */
export function startEventHub(sink: RecordingSink, options: HeraldServerOptions = {}): Promise<TestHub> {
  return startTestHub({
    webhookSink: sink,
    security: { authenticator: new JwtAuthenticator({ secret: SECRET }), apiKeys: [API_KEY] },
    ...options,
  });
}

/** A WebSocket session as `user` (anonymous without one), or as a backend with `{ apiKey: true }`. */
export async function connectAs(wsUrl: string, user?: string | { apiKey: true }): Promise<WsTestClient> {
  const headers: Record<string, string> =
    user === undefined ? {} : typeof user === 'string' ? { Authorization: `Bearer ${await tokenFor(user)}` } : { 'X-Herald-Key': API_KEY };
  return WsTestClient.connect(wsUrl, { headers });
}

/** The presence members of `channel` (`GET /api/presence`). */
export async function presenceOf(url: string, channel: string): Promise<{ client: string; user: string | null }[]> {
  const res = await fetch(`${url}/api/presence?channel=${encodeURIComponent(channel)}`, { headers: { 'X-Herald-Key': API_KEY } });
  const body = (await res.json()) as { members: { client: string; user: string | null }[] };
  return body.members;
}
