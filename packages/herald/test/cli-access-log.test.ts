import { eventually, WsTestClient } from '@herald/testkit';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import type { AccessLine } from '../src/access-log.js';
import { killAll, startCliHub, writeConfig, type CliHub } from './cli-process.js';

const SECRET = 'a-secret-that-is-long-enough-for-hs256!';
const API_KEY = 'access-log-api-key-0123456789';
const OPEN = { subscribe: 'authenticated', publish: 'authenticated', history: 'authenticated', presence: 'authenticated' };

afterEach(killAll);

/** The access lines a hub printed so far. */
const accessLines = (hub: CliHub): AccessLine[] =>
  hub
    .stdout()
    .split('\n')
    .filter((line) => line.includes('"msg":"access"'))
    .map((line) => JSON.parse(line) as AccessLine);

/** Resolves once the hub has printed `count` access lines. */
const accessLinesUntil = (hub: CliHub, count: number): Promise<AccessLine[]> =>
  eventually(
    () => accessLines(hub),
    (lines): lines is AccessLine[] => lines.length >= count,
    `${count} access lines; stdout: ${hub.stdout()}`,
    { timeoutMs: 10_000, intervalMs: 10 },
  );

async function ticket(url: string, token: string): Promise<string> {
  const response = await fetch(`${url}/api/ticket`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { ticket: string }).ticket;
}

describe('herald start --access-log', () => {
  it('logs every request and WebSocket session, and never a token, an API key, a ticket or a credential header', async () => {
    const hub = await startCliHub([
      '--access-log',
      '--config',
      writeConfig({ auth: { secret: SECRET }, apiKeys: [API_KEY], allowedOrigins: ['https://app.example'], namespaces: { chat: OPEN } }),
    ]);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SECRET));
    const messages = `${hub.url}/api/messages?channel=chat:1`;
    const answers: number[] = [];
    answers.push((await fetch(messages, { headers: { authorization: `Bearer ${token}`, cookie: `herald_token=${token}` } })).status);
    answers.push((await fetch(`${messages}&access_token=${token}&token=${token}`)).status);
    answers.push((await fetch(`${messages}&key=${API_KEY}`, { headers: { 'x-herald-key': API_KEY } })).status);
    const published = await fetch(`${hub.url}/api/publish`, {
      method: 'POST',
      headers: { 'x-herald-key': API_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'chat:1', data: { text: 'hi' } }),
    });
    answers.push(published.status);
    expect(answers).toEqual([200, 401, 200, 200]);
    const tickets = [await ticket(hub.url, token), await ticket(hub.url, token)];

    const ws = await WsTestClient.connect(`${hub.url.replace('http', 'ws')}/ws?ticket=${tickets[0]}`);
    await ws.close();
    await ws.closed;
    const stream = new AbortController();
    const sse = await fetch(`${hub.url}/events?channel=chat:1&ticket=${tickets[1]}`, { signal: stream.signal });
    expect(sse.status).toBe(200);
    stream.abort();

    const lines = await accessLinesUntil(hub, 8);
    const secrets = [token, token.split('.')[2]!, API_KEY, ...tickets];
    for (const secret of secrets) expect(hub.stdout()).not.toContain(secret);
    expect(hub.stdout()).not.toMatch(/authorization|x-herald-key|cookie|bearer/i);

    const seen = lines.map(({ kind, method, path, status }) => ({ kind, method, path, status }));
    expect(seen).toEqual(
      expect.arrayContaining([
        { kind: 'http', method: 'GET', path: '/api/messages?channel=chat:1', status: 200 },
        { kind: 'http', method: 'GET', path: '/api/messages?channel=chat:1&access_token=[redacted]&token=[redacted]', status: 401 },
        { kind: 'http', method: 'GET', path: '/api/messages?channel=chat:1&key=[redacted]', status: 200 },
        { kind: 'http', method: 'POST', path: '/api/publish', status: 200 },
        { kind: 'http', method: 'POST', path: '/api/ticket', status: 200 },
        { kind: 'websocket', method: 'GET', path: '/ws?ticket=[redacted]', status: 101 },
        { kind: 'http', method: 'GET', path: '/events?channel=chat:1&ticket=[redacted]', status: 200 },
      ]),
    );
    for (const line of lines) {
      expect(line.remote).toBe('127.0.0.1');
      expect(line.ms).toBeGreaterThanOrEqual(0);
      expect(line.bytesOut).toBeGreaterThan(0);
    }
  });

  it('is off unless asked for (flag, HERALD_ACCESS_LOG or accessLog in the file)', async () => {
    const quiet = await startCliHub();
    const fromEnv = await startCliHub([], { HERALD_ACCESS_LOG: 'true' });
    const fromFile = await startCliHub(['--config', writeConfig({ accessLog: true })]);
    for (const hub of [quiet, fromEnv, fromFile]) expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
    await accessLinesUntil(fromEnv, 1);
    await accessLinesUntil(fromFile, 1);
    // The other two logged theirs; by now this one would have too.
    expect(accessLines(quiet)).toEqual([]);
    expect(fromFile.stderr()).toContain('herald: profile dev (default: no security configured)');
  });
});
