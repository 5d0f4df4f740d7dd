import { fileURLToPath } from 'node:url';
import { decode } from '@msgpack/msgpack';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { WAIT_MS } from './demo-page.js';
import { useSdkBrowser } from './sdk-page.js';

// The SDK with `format: compact` and `format: msgpack` (the @herald/client/compact and
// @herald/client/msgpack entries, bundled for the browser as an app would) in Debian's Chromium,
// against a real hub: each transport receives the same envelopes as in JSON, and the frames on the
// wire are the compact ones (text arrays, or binary MessagePack on the WebSocket).

const client = (file: string): string => fileURLToPath(new URL(`../../client/src/${file}`, import.meta.url));

/** The browser bundle of the SDK and both formats, built once. */
async function bundle(): Promise<string> {
  const result = await build({
    stdin: {
      contents: `export { createClient } from '${client('index.ts')}';
        export { compact } from '${client('compact.ts')}';
        export { msgpack } from '${client('msgpack.ts')}';`,
      resolveDir: fileURLToPath(new URL('../../..', import.meta.url)),
      loader: 'ts',
    },
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

const HARNESS = `
  import { createClient, compact, msgpack } from '/sdk/formats.js';
  window.sdk = {
    messages: [],
    errors: [],
    state: '',
    open(channel, transport, format) {
      const client = createClient({ url: location.origin, transports: [transport], format: format === 'msgpack' ? msgpack : compact, pollWait: 5 });
      client.on('error', (e) => window.sdk.errors.push(e.code + ': ' + e.message));
      const sub = client.subscribe(channel, (m) => window.sdk.messages.push(m));
      sub.on('state', (s) => (window.sdk.state = s));
      window.sdk.client = client;
    },
  };
`;

const hub = useSdkBrowser(async () => ({ scripts: { '/sdk/formats.js': await bundle() } }));

/** What the page received on its WebSockets, and the query strings of its SSE and polling requests. */
interface Wire {
  readonly frames: (string | Buffer)[];
  readonly requests: string[];
}

async function openPage(): Promise<{ page: Page; wire: Wire; errors: string[] }> {
  const wire: Wire = { frames: [], requests: [] };
  const { page, errors } = await hub.open({
    prepare: (page) => {
      page.on('websocket', (socket) => socket.on('framereceived', (frame) => wire.frames.push(frame.payload)));
      page.on('request', (request) => {
        const at = new URL(request.url());
        if (at.pathname === '/events' || at.pathname === '/api/messages') wire.requests.push(at.pathname + at.search);
      });
    },
    script: HARNESS,
    ready: 'window.sdk !== undefined',
  });
  return { page, wire, errors };
}

describe('the SDK in Chromium with compact and MessagePack frames', { timeout: 60_000 }, () => {
  it.each([
    ['websocket', 'compact'],
    ['websocket', 'msgpack'],
    ['sse', 'compact'],
    ['sse', 'msgpack'],
    ['polling', 'compact'],
  ])('%s with format %s receives the same envelopes as JSON, in compact frames', async (transport, format) => {
    const channel = `browser-${transport}-${format}`;
    const { page, wire, errors } = await openPage();
    try {
      await page.evaluate(`window.sdk.open(${JSON.stringify(channel)}, ${JSON.stringify(transport)}, ${JSON.stringify(format)})`);
      await page.waitForFunction(`window.sdk.state === 'subscribed'`, undefined, { timeout: WAIT_MS });
      const published = [];
      for (let i = 1; i <= 3; i++) published.push(await hub.server.hub.publish(channel, { i, text: 'é'.repeat(i) }));
      await page.waitForFunction('window.sdk.messages.length >= 3', undefined, { timeout: WAIT_MS });
      const messages = await page.evaluate<unknown[]>('window.sdk.messages');
      const stored = await hub.server.hub.read(channel, undefined, 10);
      expect(messages).toEqual(stored.messages.map((m) => JSON.parse(m.json) as unknown));
      expect(published.map((p) => p.offset)).toEqual([1, 2, 3]);
      if (transport === 'websocket') {
        const pushes = wire.frames.filter((frame) =>
          format === 'msgpack' ? Array.isArray(decode(frame as Buffer)) : String(frame).startsWith('['),
        );
        expect(pushes).toHaveLength(3);
        if (format === 'msgpack') expect(wire.frames.every((frame) => typeof frame !== 'string')).toBe(true);
      } else {
        // The stream, or the polls that wait for messages (a pin, which carries no messages, asks for no format).
        const receiving = wire.requests.filter((request) => request.startsWith('/events') || request.includes('wait='));
        expect(receiving.length).toBeGreaterThan(0);
        expect(receiving.every((request) => request.includes('format=compact'))).toBe(true);
      }
      expect(await page.evaluate<string[]>('window.sdk.errors')).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await page.evaluate('window.sdk.client?.close()').catch(() => undefined);
      await page.close();
    }
  });
});
