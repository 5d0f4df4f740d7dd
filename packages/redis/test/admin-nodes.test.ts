import { randomBytes } from 'node:crypto';
import { CloseCode } from '@herald/protocol';
import { JwtAuthenticator } from '@herald/server';
import { eventually, WsTestClient, type TestHub } from '@herald/testkit';
import { SignJWT } from 'jose';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startRedisHub } from './fault-helpers.js';
import { deleteKeys, REDIS_URL } from './redis-helpers.js';

const prefix = `herald-test:${randomBytes(6).toString('hex')}:`;
const SECRET = randomBytes(32).toString('base64url');
const API_KEY = 'admin-nodes-test-key-0123456789';
const hubs: TestHub[] = [];

afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.close();
});
afterAll(() => deleteKeys(REDIS_URL, [prefix]));

async function node(): Promise<TestHub> {
  const hub = await startRedisHub({
    url: REDIS_URL,
    prefix,
    security: { authenticator: new JwtAuthenticator({ secret: SECRET }), apiKeys: [API_KEY] },
    serverOptions: { admin: true, adminSampleInterval: 50 },
  });
  hubs.push(hub);
  return hub;
}

const token = (sub: string): Promise<string> =>
  new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('1h').sign(Buffer.from(SECRET));

async function admin(hub: TestHub, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${hub.url}/api/admin/${path}`, {
    headers: { 'x-herald-key': API_KEY, 'content-type': 'application/json' },
    ...(body !== undefined && { method: 'POST', body: JSON.stringify(body) }),
  });
  expect(res.status).toBe(200);
  return res.json();
}

describe('the admin API on Redis', () => {
  it('lists every node with its connections, and forgets one that closed', async () => {
    const [a, b] = [await node(), await node()];
    const client = await WsTestClient.connect(b.wsUrl, { headers: { authorization: `Bearer ${await token('alice')}` } });
    const nodes = await eventually(
      () => admin(a, 'nodes'),
      (answer) => answer.nodes.length === 2 && answer.totals.connections.websocket === 1,
      'node a lists b with its session',
    );
    expect(nodes.clustered).toBe(true);
    expect(nodes.nodes[0].id).toBe(nodes.node);
    const idOfB = (await admin(b, 'nodes')).node as string;
    expect(nodes.nodes[1]).toMatchObject({ id: idOfB, ready: true, connections: { websocket: 1, sse: 0, polling: 0 } });

    // A session on b, disconnected through a: the same machinery as POST /api/disconnect.
    const [session] = (await admin(b, 'connections')).connections;
    expect(await admin(a, 'disconnect', { client: session.id })).toEqual({ disconnected: 0, nodes: 'all' });
    expect((await client.closed).code).toBe(CloseCode.Disconnected);

    await b.close();
    hubs.splice(hubs.indexOf(b), 1);
    await eventually(
      () => admin(a, 'nodes'),
      (answer) => answer.nodes.length === 1,
      'b leaves a’s list',
    );
  });
});
