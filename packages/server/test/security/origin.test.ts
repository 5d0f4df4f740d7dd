import { ErrorCode } from '@herald/protocol';
import type { TestHub } from '@herald/testkit';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JwtAuthenticator, Permissions, type NamespaceRules } from '@herald/server';
import { bearer, guardSuite, HS_SECRET, startHub, tokenFor } from './suite.js';
import { httpRequest, publishWith, rawUpgrade } from './wire.js';

/**
 * Origins: a browser page from a foreign origin gets 403 on every entry point (the WebSocket
 * upgrade before any 101), CORS headers name only allowed origins, and a cookie-authenticated
 * write must name its origin.
 */

guardSuite();

const APP = 'https://app.example';
const FOREIGN = ['https://evil.example', 'null', 'http://app.example', 'https://app.example.evil.example', 'https://app.example:8443'];
const every = (access: NamespaceRules['subscribe']): NamespaceRules => ({
  subscribe: access,
  publish: access,
  history: access,
  presence: access,
});

let hub: TestHub;
let alice: string;

beforeAll(async () => {
  hub = await startHub({
    security: {
      authenticator: new JwtAuthenticator({ secret: HS_SECRET }),
      permissions: new Permissions({ public: every('anonymous'), members: every('authenticated') }),
      allowedOrigins: [APP],
    },
  });
  alice = await tokenFor('alice');
});

afterAll(async () => {
  await hub.close();
});

/** Status of a WebSocket upgrade as `ws` reports it (`'open'` for a 101). */
function wsUpgradeStatus(headers: Record<string, string>): Promise<number | 'open'> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(hub.wsUrl, { headers });
    socket.once('open', () => {
      socket.close();
      resolve('open');
    });
    socket.once('unexpected-response', (req, res) => {
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    socket.once('error', (error) => {
      if (socket.readyState !== WebSocket.CLOSED) reject(error);
    });
  });
}

describe('the WebSocket upgrade', () => {
  it.each(FOREIGN)('from Origin %s gets 403 and no 101, with or without a token', async (origin) => {
    const attempts: Record<string, string>[] = [
      { Origin: origin },
      { Origin: origin, ...bearer(alice) },
      { Origin: origin, Cookie: `herald_token=${alice}` },
    ];
    for (const headers of attempts) {
      const raw = await rawUpgrade(hub.port, '/ws', headers);
      expect(raw.status).toBe(403);
      expect(raw.head).not.toMatch(/\b101\b/);
      expect(raw.head.toLowerCase()).not.toContain('sec-websocket-accept');
      expect(JSON.parse(raw.body)).toEqual({ error: { code: ErrorCode.Forbidden, message: 'origin is not allowed' } });
      expect(await wsUpgradeStatus(headers)).toBe(403);
    }
    expect(hub.server.stats().websocket).toBe(0);
  });

  it('from the allowed origin, or from a non-browser without Origin, upgrades', async () => {
    expect(await wsUpgradeStatus({ Origin: APP })).toBe('open');
    expect(await wsUpgradeStatus({ Origin: APP, Cookie: `herald_token=${alice}` })).toBe('open');
    expect(await wsUpgradeStatus({})).toBe('open');
  });
});

describe('HTTP entry points', () => {
  const routes = (origin: string): [string, Promise<Awaited<ReturnType<typeof httpRequest>>>][] => [
    ['poll', httpRequest(`${hub.url}/api/messages?channel=public:lobby`, { headers: { Origin: origin } })],
    ['history', httpRequest(`${hub.url}/api/history?channel=public:lobby`, { headers: { Origin: origin } })],
    ['presence', httpRequest(`${hub.url}/api/presence?channel=public:lobby`, { headers: { Origin: origin } })],
    ['sse', httpRequest(`${hub.url}/events?channel=public:lobby`, { headers: { Origin: origin, ...bearer(alice) } })],
    ['publish', publishWith(hub.url, 'public:lobby', 'x', { Origin: origin, ...bearer(alice) })],
    ['ticket', httpRequest(`${hub.url}/api/ticket`, { method: 'POST', headers: { Origin: origin, ...bearer(alice) } })],
  ];

  it.each(FOREIGN)('answer 403 to Origin %s, without any CORS allowance', async (origin) => {
    for (const [name, pending] of routes(origin)) {
      const answer = await pending;
      expect(answer.status, name).toBe(403);
      expect(answer.json, name).toEqual({ error: { code: ErrorCode.Forbidden, message: `origin ${origin} is not allowed` } });
      expect(answer.headers['access-control-allow-origin'], name).toBeUndefined();
      expect(answer.headers['access-control-allow-credentials'], name).toBeUndefined();
    }
    expect((await httpRequest(`${hub.url}/api/messages?channel=public:lobby`)).json.messages).toEqual([]);
  });

  it('echo the allowed origin (with credentials and Vary: Origin) and nothing for requests without Origin', async () => {
    const allowed = await httpRequest(`${hub.url}/api/messages?channel=public:lobby`, { headers: { Origin: APP } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers['access-control-allow-origin']).toBe(APP);
    expect(allowed.headers['access-control-allow-credentials']).toBe('true');
    expect(allowed.headers.vary).toMatch(/Origin/);
    const none = await httpRequest(`${hub.url}/api/messages?channel=public:lobby`);
    expect(none.status).toBe(200);
    expect(none.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('preflight: 204 with the allowed origin echoed; 403 for a foreign one', async () => {
    const ok = await httpRequest(`${hub.url}/api/publish`, {
      method: 'OPTIONS',
      headers: { Origin: APP, 'Access-Control-Request-Method': 'POST' },
    });
    expect(ok.status).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe(APP);
    const evil = await httpRequest(`${hub.url}/api/publish`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(evil.status).toBe(403);
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('cross-site writes', () => {
  it('a cookie-authenticated POST /api/publish without Origin gets 403; with the allowed origin it publishes; a header needs no Origin', async () => {
    const noOrigin = await publishWith(hub.url, 'members:csrf', 'cookie, no origin', { Cookie: `herald_token=${alice}` });
    expect(noOrigin.status).toBe(403);
    expect(noOrigin.json).toEqual({
      error: { code: ErrorCode.Forbidden, message: 'a cookie-authenticated request must carry an Origin header' },
    });
    expect(
      (await publishWith(hub.url, 'members:csrf', 'cookie, app origin', { Cookie: `herald_token=${alice}`, Origin: APP })).status,
    ).toBe(200);
    expect((await publishWith(hub.url, 'members:csrf', 'header, no origin', bearer(alice))).status).toBe(200);
    const history = await httpRequest(`${hub.url}/api/history?channel=members:csrf`, { headers: bearer(alice) });
    expect(history.json.messages.map((m: any) => m.data)).toEqual(['cookie, app origin', 'header, no origin']);
  });

  it('a cross-site text/plain POST (a simple request, no preflight) from a foreign origin gets 403 and publishes nothing', async () => {
    const body = JSON.stringify({ channel: 'members:form', data: 'forged by a form' });
    const credentials: Record<string, string>[] = [{}, { Cookie: `herald_token=${alice}` }];
    for (const headers of credentials) {
      const answer = await httpRequest(`${hub.url}/api/publish`, {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain', Origin: 'https://evil.example', ...headers },
        body,
      });
      expect(answer.status).toBe(403);
      expect(answer.json.error.code).toBe(ErrorCode.Forbidden);
    }
    const polled = await httpRequest(`${hub.url}/api/messages?channel=public:form`);
    expect(polled.json.messages).toEqual([]);
    const history = await httpRequest(`${hub.url}/api/history?channel=members:form`, { headers: bearer(alice) });
    expect(history.json.messages).toEqual([]);
  });
});
