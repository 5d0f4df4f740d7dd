import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode } from '@herald/protocol';
import { createHerald } from '@herald/server';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';

// handleRequest() behind a body parser (express.json() first): the body Herald needs is gone, so
// the request is answered at once with 500 / 3000 and a message that says why, not left hanging.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function expressBehindJsonParser(): Promise<string> {
  const herald = createHerald({ path: '/realtime', security: { apiKeys: ['an-api-key-of-16+chars'] } });
  cleanups.push(() => herald.close());
  const app = express();
  app.use(express.json());
  app.use((req, res, next) => herald.handleRequest(req, res) || next());
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const CONSUMED = {
  error: {
    code: ErrorCode.Internal,
    message: 'the request body was already read by the app (a body parser ran before Herald): call handleRequest before any body parser',
  },
};

describe('handleRequest() after a body parser', () => {
  it.each([
    ['/realtime/api/publish', { channel: 'x', data: 1 }],
    ['/realtime/api/disconnect', { user: 'alice' }],
  ])('POST %s with a JSON body the parser read: 500, code 3000, at once', async (path, body) => {
    const url = await expressBehindJsonParser();
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-herald-key': 'an-api-key-of-16+chars' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5_000),
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual(CONSUMED);
  });

  it('a body the parser left alone (another content type) is still read and published', async () => {
    const url = await expressBehindJsonParser();
    const res = await fetch(`${url}/realtime/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-herald-key': 'an-api-key-of-16+chars' },
      body: JSON.stringify({ channel: 'x', data: 1 }),
      signal: AbortSignal.timeout(5_000),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ channel: 'x', offset: 1 });
  });
});
