import { readFileSync, readdirSync } from 'node:fs';
import { CloseCode, ErrorCode } from '@herald/protocol';
import { WsTestClient, type TestHub } from '@herald/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { JwtAuthenticator, Permissions, type NamespaceRules } from '@herald/server';
import { bearer, guardSuite, HS_SECRET, logLines, remember, startHub, tokenFor } from './suite.js';
import { httpRequest, publishWith, rawUpgrade } from './wire.js';

/**
 * What the security docs state, checked against a hub built as `herald start` builds its production
 * profile (packages/herald/src/start.ts: a JWT authenticator, API keys, namespaces over DENY_ALL, an
 * origin list, `requireAuth: !allowAnonymous`, default command limits) with the namespaces of the
 * "minimal secure configuration" in operations.md. Where a doc gives a number, a status table or a
 * sample, the test reads it from the doc.
 */

guardSuite();

const ROOT = new URL('../../../../', import.meta.url);
const doc = (path: string): string => readFileSync(new URL(path, ROOT), 'utf8');

/** The text of a Markdown section: from its heading line to the next heading of the same or a higher level. */
function section(text: string, heading: string): string {
  const start = text.indexOf(`\n${heading}\n`);
  expect(start, heading).toBeGreaterThan(-1);
  const level = heading.indexOf(' ');
  const next = new RegExp(`\\n#{1,${level}} `, 'g');
  next.lastIndex = start + heading.length + 1;
  const end = next.exec(text)?.index ?? text.length;
  return text.slice(start, end);
}

/** The cells of the table row of `text` whose first cell starts with `first`. */
function row(text: string, first: string): string[] {
  const line = text.split('\n').find((l) => l.startsWith(`| ${first}`));
  expect(line, `a row starting with "${first}"`).toBeDefined();
  return line!.split(' | ').map((cell) => cell.replace(/^\| |\|$/g, '').trim());
}

const ORIGIN = 'https://app.example.com';
const API_KEY = remember('docs-match-backend-key-0123456789');
const access = (
  subscribe: NamespaceRules['subscribe'],
  publish: NamespaceRules['publish'],
  history: NamespaceRules['history'],
  presence: NamespaceRules['presence'],
): NamespaceRules => ({ subscribe, publish, history, presence });
const NAMESPACES = {
  news: access('anonymous', 'none', 'anonymous', 'none'),
  inbox: access('owner', 'none', 'owner', 'none'),
  room: access('granted', 'granted', 'granted', 'granted'),
};

/** A hub configured like the production profile (see the file comment). */
function startProductionHub(allowAnonymous = false): Promise<TestHub> {
  return startHub({
    connectionsPerIp: 1000,
    connectionsPerUser: 100,
    security: {
      authenticator: new JwtAuthenticator({ secret: HS_SECRET }),
      permissions: new Permissions(NAMESPACES),
      apiKeys: [API_KEY],
      allowedOrigins: [ORIGIN],
      requireAuth: !allowAnonymous,
    },
  });
}

let hub: TestHub;
const opened: WsTestClient[] = [];

beforeAll(async () => {
  hub = await startProductionHub();
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await hub.close();
});

async function ws(headers: Record<string, string> = {}): Promise<WsTestClient> {
  const client = await WsTestClient.connect(hub.wsUrl, { headers });
  opened.push(client);
  return client;
}

const NEEDS_A_TOKEN = { error: { code: ErrorCode.Unauthorized, message: 'this hub needs a token' } };
/** Every HTTP request that reads credentials, as [route as the docs name it, url, init]. */
const requests = (url: string): [string, string, { method?: string; body?: string }][] => [
  ['GET /api/messages', `${url}/api/messages?channel=news:1`, {}],
  ['GET /api/history', `${url}/api/history?channel=news:1`, {}],
  ['GET /api/presence', `${url}/api/presence?channel=room:1`, {}],
  ['POST /api/publish', `${url}/api/publish`, { method: 'POST', body: JSON.stringify({ channel: 'news:1', data: 1 }) }],
  ['POST /api/ticket', `${url}/api/ticket`, { method: 'POST' }],
  ['GET /events', `${url}/events?channel=news:1`, {}],
];

/** The line of errors.md's 2000 table that gives `message`. */
const causeOf = (message: string): string => {
  const line = section(doc('docs/errors.md'), '#### 2000 `Unauthorized`')
    .split('\n')
    .find((l) => l.endsWith(`| \`${message}\` |`));
  expect(line, `errors.md gives the cause of "${message}"`).toBeDefined();
  return line!;
};

describe('requireAuth (production without allowAnonymous)', () => {
  it('every client request needs a token, an anonymous namespace too: HTTP and SSE answer 401 2000 "this hub needs a token", the WebSocket "authenticate first"', async () => {
    const cause = causeOf('this hub needs a token');
    for (const [what, url, init] of requests(hub.url)) {
      expect(cause).toContain(`\`${what}\``);
      const answer = await httpRequest(url, init);
      expect({ what, status: answer.status, json: answer.json }).toEqual({ what, status: 401, json: NEEDS_A_TOKEN });
    }
    const client = await ws();
    expect((await client.request({ type: 'subscribe', channel: 'news:1' })).error).toEqual({
      code: ErrorCode.Unauthorized,
      message: 'authenticate first (auth command)',
    });
    // With a token, the anonymous namespace is served over polling and history.
    const token = await tokenFor('reader');
    expect((await httpRequest(`${hub.url}/api/messages?channel=news:1`, { headers: bearer(token) })).status).toBe(200);
    expect((await httpRequest(`${hub.url}/api/history?channel=news:1`, { headers: bearer(token) })).status).toBe(200);
  });

  it('with allowAnonymous, an anonymous namespace is read without a token over polling and /api/history; other levels still need one', async () => {
    const open = await startProductionHub(true);
    try {
      expect((await httpRequest(`${open.url}/api/messages?channel=news:1`)).status).toBe(200);
      expect((await httpRequest(`${open.url}/api/history?channel=news:1`)).status).toBe(200);
      const inbox = await httpRequest(`${open.url}/api/history?channel=inbox:alice`);
      expect([inbox.status, inbox.json]).toEqual([
        401,
        { error: { code: ErrorCode.Unauthorized, message: 'history on inbox:alice needs a token', channel: 'inbox:alice' } },
      ]);
    } finally {
      await open.close();
    }
  });
});

describe('a wrong API key', () => {
  it('is refused with 401 2000 "the API key is not valid" wherever credentials are read, even next to a valid token', async () => {
    const token = await tokenFor('alice');
    const wrong = { 'X-Herald-Key': remember('not-the-backend-key-0123456789') };
    const notValid = { error: { code: ErrorCode.Unauthorized, message: 'the API key is not valid' } };
    expect(causeOf('the API key is not valid')).toContain('`X-Herald-Key`');
    for (const [what, url, init] of requests(hub.url)) {
      const answer = await httpRequest(url, { ...init, headers: { ...wrong, ...bearer(token) } });
      expect({ what, status: answer.status, json: answer.json }).toEqual({ what, status: 401, json: notValid });
    }
    const upgrade = await rawUpgrade(hub.port, '/ws', { ...wrong, ...bearer(token) });
    expect([upgrade.status, JSON.parse(upgrade.body)]).toEqual([401, notValid]);
    const disconnect = await httpRequest(`${hub.url}/api/disconnect`, { method: 'POST', headers: wrong, body: '{"user":"alice"}' });
    expect([disconnect.status, disconnect.json]).toEqual([
      401,
      { error: { code: ErrorCode.Unauthorized, message: '/api/disconnect needs the API key (X-Herald-Key)' } },
    ]);
  });

  it('is refused by a hub without API keys too (the dev profile)', async () => {
    const dev = await startHub();
    try {
      const answer = await publishWith(dev.url, 'news', 1, { 'X-Herald-Key': API_KEY });
      expect([answer.status, answer.json]).toEqual([401, { error: { code: ErrorCode.Unauthorized, message: 'the API key is not valid' } }]);
    } finally {
      await dev.close();
    }
  });
});

describe('refresh', () => {
  it('re-checks every subscription: one the new token no longer grants ends with an unsubscribed push, and its messages stop', async () => {
    const client = await ws(bearer(await tokenFor('alice', { channels: ['room:1', 'room:2'] })));
    expect((await client.request({ type: 'subscribe', channel: 'room:1' })).error).toBeUndefined();
    expect((await client.request({ type: 'subscribe', channel: 'room:2' })).error).toBeUndefined();
    expect((await client.request({ type: 'refresh', token: await tokenFor('alice', { channels: ['room:2'] }) })).error).toBeUndefined();
    await client.frames.until((fs) => fs.some((f) => f.type === 'unsubscribed'), 'the unsubscribed push');
    expect(client.frames.items.filter((f) => f.type === 'unsubscribed')).toEqual([
      { type: 'unsubscribed', channel: 'room:1', error: { code: ErrorCode.Forbidden, message: 'subscribe on room:1 is not allowed' } },
    ]);
    await hub.server.hub.publish('room:1', 'revoked');
    await hub.server.hub.publish('room:2', 'kept');
    expect((await client.waitForMessages(1)).map((m) => [m.channel, m.data])).toEqual([['room:2', 'kept']]);
  });
});

describe('an expired token', () => {
  it('on POST /api/publish and POST /api/ticket gets the status and code of the failure tables of protocol.md (401, 2002)', async () => {
    const protocol = doc('docs/protocol.md');
    const expired = await tokenFor('alice', {}, Date.now() - 2 * 3600_000);
    const cases = [
      { heading: '### `POST /api/publish`', first: 'token expired', send: () => publishWith(hub.url, 'room:1', 1, bearer(expired)) },
      {
        heading: '### `POST /api/ticket`',
        first: 'the token expired',
        send: () => httpRequest(`${hub.url}/api/ticket`, { method: 'POST', headers: bearer(expired) }),
      },
    ];
    for (const { heading, first, send } of cases) {
      const [, status, code] = row(section(protocol, heading), first);
      const answer = await send();
      expect({ heading, status: String(answer.status), code: String(answer.json.error.code) }).toEqual({ heading, status, code });
      expect(answer.json.error).toEqual({ code: ErrorCode.TokenExpired, message: 'token expired' });
    }
  });
});

describe('the command rate limit', () => {
  const refusal = { code: ErrorCode.RateLimited, message: 'at most 100 commands per second' };

  it('pings sent at once: the replies, refusals with their ids and close of protocol.md (200, 49, 4003), one warning', async () => {
    const text = section(doc('docs/protocol.md'), '### Rate limit');
    const numbers =
      /(\d+) `ping` frames sent at once get (\d+) replies \(ids 0–(\d+)\), (\d+) refusals \(ids (\d+)–(\d+)\), then the close; the last (\d+) get nothing/.exec(
        text.replace(/\s+/g, ' '),
      );
    expect(numbers, 'the captured numbers in protocol.md').not.toBeNull();
    const [sent, replies, lastReply, refusals, firstRefused, lastRefused, unanswered] = numbers!.slice(1).map(Number) as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    expect([lastReply, firstRefused, lastRefused, unanswered]).toEqual([
      replies - 1,
      replies,
      replies + refusals - 1,
      sent - replies - refusals,
    ]);
    // A frozen monotonic clock: the bucket does not refill while the frames arrive.
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      const client = await ws(bearer(await tokenFor('flooder')));
      const logged = logLines.length;
      for (let id = 0; id < sent; id++) client.sendRaw(JSON.stringify({ id, type: 'ping' }));
      expect(await client.closed).toEqual({ code: CloseCode.RateLimited, reason: 'too many commands' });
      expect(client.frames.items).toEqual([
        ...Array.from({ length: replies }, (_, id) => ({ type: 'reply', id })),
        ...Array.from({ length: refusals }, (_, i) => ({ type: 'reply', id: replies + i, error: refusal })),
      ]);
      expect(logLines.slice(logged).filter((line) => line.includes('command flood'))).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a refused frame over 4,096 bytes keeps its id when it is the first or last member, and gets an error push otherwise', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      // A token's session: one authenticated with the API key is not rate-limited.
      const client = await ws(bearer(await tokenFor('flooder')));
      for (let id = 0; id < 200; id++) client.sendRaw(JSON.stringify({ id, type: 'ping' }));
      const data = 'x'.repeat(8192);
      client.sendRaw(JSON.stringify({ type: 'publish', channel: 'news:1', data, id: 'last' }));
      client.sendRaw(JSON.stringify({ id: 'first', type: 'publish', channel: 'news:1', data }));
      client.sendRaw(JSON.stringify({ type: 'publish', id: 'middle', channel: 'news:1', data }));
      client.sendRaw(JSON.stringify({ type: 'ping', id: 'small', pad: 'x'.repeat(4000) }));
      const frames = await client.frames.count(204);
      expect(frames.slice(200)).toEqual([
        { type: 'reply', id: 'last', error: refusal },
        { type: 'reply', id: 'first', error: refusal },
        { type: 'error', error: refusal },
        { type: 'reply', id: 'small', error: refusal },
      ]);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('OPTIONS', () => {
  it('answers the headers of the protocol.md sample, Idempotency-Key included', async () => {
    const sample = section(doc('docs/protocol.md'), '### `OPTIONS` and CORS').split('$ curl -i -X OPTIONS')[1]!.split('```')[0]!;
    const expected = sample
      .split('\n')
      .slice(2)
      .filter((line) => line.includes(': '))
      .map((line) => [line.slice(0, line.indexOf(': ')).toLowerCase(), line.slice(line.indexOf(': ') + 2).trim()]);
    expect(expected.map(([name]) => name)).toContain('access-control-allow-headers');
    const answer = await httpRequest(`${hub.url}/api/publish`, { method: 'OPTIONS', headers: { Origin: ORIGIN } });
    expect(answer.status).toBe(204);
    for (const [name, value] of expected) expect({ name, value: answer.headers[name!] }).toEqual({ name, value });
    expect(answer.headers['access-control-allow-headers']).toBe(
      'Content-Type, Last-Event-ID, Authorization, Idempotency-Key, Cache-Control',
    );
  });
});

describe('the docs', () => {
  it('repeat none of the statements a production hub contradicts', () => {
    const files = [
      'README.md',
      ...readdirSync(new URL('docs/', ROOT))
        .filter((f) => f.endsWith('.md'))
        .map((f) => `docs/${f}`),
    ];
    for (const pkg of readdirSync(new URL('packages/', ROOT))) {
      try {
        readFileSync(new URL(`packages/${pkg}/README.md`, ROOT));
        files.push(`packages/${pkg}/README.md`);
      } catch {
        // no README in this package
      }
    }
    const contradicted = [
      /not subject to\s+`requireAuth`/,
      /wrong (API )?key is ignored/i,
      /wrong `X-Herald-Key` is ignored/,
      /not\s+re-checked/,
      /\| 500 \(see \[errors\.md\]/,
      /dropped without being decoded/,
      /answers with an `error` push, never a `reply`/,
      /polling and\s+`GET \/api\/history` work without one/,
      /HTTP reads and\s+publishes follow the levels alone/,
    ];
    const found = files.flatMap((file) => {
      const text = doc(file);
      return contradicted.filter((claim) => claim.test(text)).map((claim) => `${file}: ${claim.source}`);
    });
    expect(found).toEqual([]);
  });
});
