import { ErrorCode } from '@herald/protocol';
import { ManualClock, SseTestClient, WsTestClient, type TestHub } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JwtAuthenticator, Permissions, type NamespaceRules } from '@herald/server';
import { bearer, guardSuite, HS_SECRET, leakedSecrets, remember, seconds, startHub, tokenFor } from './suite.js';
import { httpRequest, publishWith, rawUpgrade, type HttpAnswer } from './wire.js';

/**
 * How a token reaches the hub: the Authorization header (every transport a Node client can use),
 * the `herald_token` cookie, or a single-use ticket from `POST /api/ticket`. A token in the URL is
 * refused everywhere.
 */

guardSuite();

const every = (access: NamespaceRules['subscribe']): NamespaceRules => ({
  subscribe: access,
  publish: access,
  history: access,
  presence: access,
});
const permissions = new Permissions({ members: every('authenticated'), inbox: every('owner'), public: every('anonymous') });
const API_KEY = remember('delivery-test-api-key-0123456789');

let hub: TestHub;
let alice: string;

beforeAll(async () => {
  hub = await startHub({
    security: {
      authenticator: new JwtAuthenticator({ secret: HS_SECRET }),
      permissions,
      apiKeys: [API_KEY],
      allowedOrigins: ['https://app.example'],
    },
  });
  alice = await tokenFor('alice');
});

afterAll(async () => {
  await hub.close();
});

async function issueTicket(headers: Record<string, string>): Promise<HttpAnswer> {
  const answer = await httpRequest(`${hub.url}/api/ticket`, { method: 'POST', headers });
  if (typeof answer.json?.ticket === 'string') remember(answer.json.ticket);
  return answer;
}

/** Proves a WebSocket session is alice's: her inbox is open to it, bob's is not. */
async function expectAliceOnWs(client: WsTestClient): Promise<void> {
  expect((await client.request({ type: 'subscribe', channel: 'inbox:alice' })).error).toBeUndefined();
  expect((await client.request({ type: 'subscribe', channel: 'inbox:bob' })).error).toEqual({
    code: ErrorCode.Forbidden,
    message: 'subscribe on inbox:bob is not allowed',
  });
}

/** Opens an SSE stream on alice's inbox, proves a message arrives, closes it. */
async function expectAliceOnSse(query: string, headers: Record<string, string> = {}): Promise<void> {
  const sse = await SseTestClient.connect(`${hub.url}/events?channel=inbox:alice${query}`, headers);
  try {
    expect(sse.response.statusCode).toBe(200);
    await sse.ready();
    await hub.server.hub.publish('inbox:alice', 'for alice');
    expect((await sse.waitForMessages(1)).map((m) => m.data)).toEqual(['for alice']);
  } finally {
    await sse.close();
  }
}

describe('the Authorization header', () => {
  it('authenticates polling, publish, SSE and the WebSocket upgrade; without it the same requests get 401', async () => {
    expect((await httpRequest(`${hub.url}/api/messages?channel=members:room`, { headers: bearer(alice) })).status).toBe(200);
    const anonymousPoll = await httpRequest(`${hub.url}/api/messages?channel=members:room`);
    expect(anonymousPoll.status).toBe(401);
    expect(anonymousPoll.json).toEqual({
      error: { code: ErrorCode.Unauthorized, message: 'subscribe on members:room needs a token', channel: 'members:room' },
    });

    expect((await publishWith(hub.url, 'members:room', 1, bearer(alice))).json).toMatchObject({ channel: 'members:room', offset: 1 });
    expect((await publishWith(hub.url, 'members:room', 2)).json).toEqual({
      error: { code: ErrorCode.Unauthorized, message: 'publish on members:room needs a token' },
    });

    await expectAliceOnSse('', bearer(alice));
    const anonymousSse = await httpRequest(`${hub.url}/events?channel=inbox:alice`);
    expect(anonymousSse.status).toBe(401);
    expect(anonymousSse.json.error.code).toBe(ErrorCode.Unauthorized);

    const client = await WsTestClient.connect(hub.wsUrl, { headers: bearer(alice) });
    try {
      await expectAliceOnWs(client);
    } finally {
      await client.close();
    }
  });

  it('refuses a header that is not "Bearer <token>", and a bad token is never taken as anonymous', async () => {
    for (const authorization of ['Basic YWxpY2U6cHc=', 'Bearer', 'Bearer a b', `Token ${alice}`]) {
      const answer = await httpRequest(`${hub.url}/api/messages?channel=public:lobby`, { headers: { Authorization: authorization } });
      expect(answer.status).toBe(401);
      expect(answer.json).toEqual({ error: { code: ErrorCode.Unauthorized, message: 'Authorization must be "Bearer <token>"' } });
    }
    const forged = `${alice.slice(0, -4)}AAAA`;
    expect((await httpRequest(`${hub.url}/api/messages?channel=public:lobby`, { headers: bearer(forged) })).status).toBe(401);
    expect((await rawUpgrade(hub.port, '/ws', bearer(forged))).status).toBe(401);
  });
});

describe('the herald_token cookie', () => {
  const cookie = (token: string): Record<string, string> => ({ Cookie: `theme=dark; herald_token=${token}; lang=en` });

  it('authenticates polling, publish (with an Origin), SSE and the WebSocket upgrade', async () => {
    expect((await httpRequest(`${hub.url}/api/messages?channel=members:room`, { headers: cookie(alice) })).status).toBe(200);
    expect((await publishWith(hub.url, 'members:room', 'by cookie', { ...cookie(alice), Origin: 'https://app.example' })).status).toBe(200);
    await expectAliceOnSse('', cookie(alice));
    const client = await WsTestClient.connect(hub.wsUrl, { headers: cookie(alice) });
    try {
      await expectAliceOnWs(client);
    } finally {
      await client.close();
    }
  });

  it('refuses a bad token in the cookie instead of going on anonymously', async () => {
    const answer = await httpRequest(`${hub.url}/api/messages?channel=public:lobby`, { headers: cookie('garbage.token.value') });
    expect(answer.status).toBe(401);
    expect(answer.json.error).toEqual({ code: ErrorCode.Unauthorized, message: 'token is malformed' });
  });
});

describe('tickets', () => {
  it('POST /api/ticket with the header answers {ticket, expiresIn: 30}', async () => {
    const answer = await issueTicket(bearer(alice));
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.json).sort()).toEqual(['expiresIn', 'ticket']);
    expect(answer.json.ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(answer.json.expiresIn).toBe(30);
  });

  it('a ticket opens one WebSocket as its user; replayed, the upgrade gets 401 and never a 101', async () => {
    const { ticket } = (await issueTicket(bearer(alice))).json;
    const client = await WsTestClient.connect(`${hub.wsUrl}?ticket=${ticket}`);
    try {
      await expectAliceOnWs(client);
    } finally {
      await client.close();
    }
    const replay = await rawUpgrade(hub.port, `/ws?ticket=${ticket}`);
    expect(replay.status).toBe(401);
    expect(replay.head).not.toMatch(/101/);
    expect(JSON.parse(replay.body)).toEqual({ error: { code: ErrorCode.Unauthorized, message: 'ticket is unknown, used or expired' } });
  });

  it('a ticket opens one SSE stream; replayed, it gets 401 JSON', async () => {
    const { ticket } = (await issueTicket(bearer(alice))).json;
    await expectAliceOnSse(`&ticket=${ticket}`);
    const replay = await httpRequest(`${hub.url}/events?channel=inbox:alice&ticket=${ticket}`);
    expect(replay.status).toBe(401);
    expect(replay.headers['content-type']).toMatch(/^application\/json/);
    expect(replay.json).toEqual({ error: { code: ErrorCode.Unauthorized, message: 'ticket is unknown, used or expired' } });
  });

  it('an unknown ticket is refused like a used one', async () => {
    expect((await rawUpgrade(hub.port, '/ws?ticket=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).status).toBe(401);
    expect((await httpRequest(`${hub.url}/api/messages?channel=inbox:alice&ticket=`)).status).toBe(401);
  });

  it('is refused without a token, for a ticket, for the API key, and for a cookie without Origin', async () => {
    const none = await issueTicket({});
    expect(none.status).toBe(401);
    expect(none.json.error).toEqual({ code: ErrorCode.Unauthorized, message: 'a ticket needs a token (Authorization header or cookie)' });
    const { ticket } = (await issueTicket(bearer(alice))).json;
    expect((await httpRequest(`${hub.url}/api/ticket?ticket=${ticket}`, { method: 'POST' })).status).toBe(401);
    expect((await issueTicket({ 'X-Herald-Key': API_KEY })).status).toBe(401);
    const cookieOnly = await issueTicket({ Cookie: `herald_token=${alice}` });
    expect(cookieOnly.status).toBe(403);
    expect(cookieOnly.json.error.code).toBe(ErrorCode.Forbidden);
    expect((await issueTicket({ Cookie: `herald_token=${alice}`, Origin: 'https://app.example' })).status).toBe(200);
  });

  it('never outlives the token it was issued for', async () => {
    const shortLived = await tokenFor('alice', { exp: seconds(Date.now()) + 10 });
    const { expiresIn } = (await issueTicket(bearer(shortLived))).json;
    expect(expiresIn).toBeGreaterThanOrEqual(8);
    // The token counts as valid until exp plus the default 5 s leeway.
    expect(expiresIn).toBeLessThanOrEqual(15);
  });

  it('expires after ticketTtl (hub clock): 401 on the WebSocket and on SSE', async () => {
    const clock = new ManualClock();
    const timed = await startHub({
      clock,
      security: { authenticator: new JwtAuthenticator({ secret: HS_SECRET, now: clock.now }), permissions, ticketTtl: 1 },
    });
    try {
      const token = await tokenFor('alice', {}, clock.now());
      const ticket = async (): Promise<string> =>
        remember((await httpRequest(`${timed.url}/api/ticket`, { method: 'POST', headers: bearer(token) })).json.ticket as string);
      const fresh = await ticket();
      const [forWs, forSse] = [await ticket(), await ticket()];
      clock.advance(999);
      const open = await rawUpgrade(timed.port, `/ws?ticket=${fresh}`);
      expect(open.status).toBe(101);
      open.socket.destroy();
      clock.advance(1);
      const ws = await rawUpgrade(timed.port, `/ws?ticket=${forWs}`);
      expect(ws.status).toBe(401);
      expect(JSON.parse(ws.body).error).toEqual({ code: ErrorCode.Unauthorized, message: 'ticket is unknown, used or expired' });
      const sse = await httpRequest(`${timed.url}/events?channel=inbox:alice&ticket=${forSse}`);
      expect(sse.status).toBe(401);
      expect(sse.json.error).toEqual({ code: ErrorCode.Unauthorized, message: 'ticket is unknown, used or expired' });
    } finally {
      await timed.close();
    }
  });
});

describe('a token in the URL', () => {
  const mentionsTickets = (answer: { code: number; message: string }): void => {
    expect(answer.code).toBe(ErrorCode.Unauthorized);
    expect(answer.message).toMatch(/ticket/);
  };

  it.each(['token', 'access_token'])(
    '?%s= is refused with 401 on the WebSocket, SSE, polling and publish, even beside a valid header',
    async (name) => {
      const query = `${name}=${alice}`;
      const ws = await rawUpgrade(hub.port, `/ws?${query}`);
      expect(ws.status).toBe(401);
      mentionsTickets(JSON.parse(ws.body).error);
      const sse = await httpRequest(`${hub.url}/events?channel=inbox:alice&${query}`);
      expect(sse.status).toBe(401);
      mentionsTickets(sse.json.error);
      const polled = await httpRequest(`${hub.url}/api/messages?channel=members:room&${query}`, { headers: bearer(alice) });
      expect(polled.status).toBe(401);
      mentionsTickets(polled.json.error);
      const published = await httpRequest(`${hub.url}/api/publish?${query}`, {
        method: 'POST',
        body: JSON.stringify({ channel: 'members:room', data: 1 }),
      });
      expect(published.status).toBe(401);
      mentionsTickets(published.json.error);
    },
  );
});

describe('the log scan', () => {
  it('would catch a token, its signature alone, a ticket or an API key in a log line (so its silence means something)', async () => {
    const { ticket } = (await issueTicket(bearer(alice))).json;
    const signature = alice.split('.')[2]!;
    expect(leakedSecrets([`{"msg":"auth","token":"${alice}"}`])).toContain(alice);
    expect(leakedSecrets([`sig=${signature}`])).toContain(alice);
    expect(leakedSecrets([`ticket ${ticket as string}`])).toContain(ticket);
    expect(leakedSecrets([`key ${API_KEY}`])).toContain(API_KEY);
    expect(leakedSecrets(['nothing secret here'])).toEqual([]);
  });
});
