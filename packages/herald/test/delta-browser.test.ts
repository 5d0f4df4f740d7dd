import { describe, expect, it } from 'vitest';
import { WAIT_MS } from './demo-page.js';
import { useSdkBrowser } from './sdk-page.js';

// The SDK's browser bundle in Chromium on a namespace with deltas: `createClient({ delta: applyDelta })`
// forced onto each transport gets the first message in full and the next ones as deltas (recorded
// in the page from the WebSocket, EventSource and fetch the client is given), and hands the page
// exactly the data published, multibyte text included.

const HARNESS = `
  import { createClient, applyDelta } from '/sdk/herald-client.js';
  const wire = [];
  const messages = [];
  class RecordingWebSocket extends WebSocket {
    constructor(url, protocols) { super(url, protocols); this.addEventListener('message', (e) => wire.push(e.data)); }
  }
  class RecordingEventSource extends EventSource {
    constructor(url, init) { super(url, init); this.addEventListener('message', (e) => wire.push(e.data)); }
  }
  const recordingFetch = async (input, init) => {
    const res = await fetch(input, init);
    if (String(input).includes('/api/messages')) wire.push(await res.clone().text());
    return res;
  };
  window.delta = {
    wire,
    messages,
    open(channel, transport) {
      const client = createClient({
        url: location.origin, transports: [transport], pollWait: 5, delta: applyDelta,
        WebSocket: RecordingWebSocket, EventSource: RecordingEventSource, fetch: recordingFetch,
      });
      const sub = client.subscribe(channel, (m) => messages.push(m));
      return new Promise((resolve) => sub.on('state', (s) => s === 'subscribed' && resolve(client.transport)));
    },
  };
`;

/** ~4 KB of dashboard state; each update changes a few numbers and now and then a multibyte label. */
function states(count: number): unknown[] {
  const first = {
    title: 'Übersicht — prod',
    updated: 0,
    hosts: Array.from({ length: 40 }, (_, i) => ({ host: `web-${i}.example.net`, cpu: i, rps: i * 31, status: 'ok' })),
  };
  const out: any[] = [first];
  for (let n = 1; n < count; n++) {
    const copy = structuredClone(out.at(-1));
    copy.updated = n;
    copy.hosts[n % 40].cpu = (n * 13) % 100;
    if (n % 3 === 0) copy.hosts[(n * 7) % 40].status = n % 2 ? 'überlastet 🚨' : 'ok ✓';
    out.push(copy);
  }
  return out;
}

/** The types of the pushes recorded in the page (a poll answer's items one by one). */
function pushTypes(wire: string[]): string[] {
  const types: string[] = [];
  for (const text of wire) {
    const frame = JSON.parse(text);
    if (Array.isArray(frame.messages)) for (const m of frame.messages) types.push(m.type);
    else if (frame.type === 'message' || frame.type === 'delta') types.push(frame.type);
  }
  return types;
}

const hub = useSdkBrowser(() => ({ options: { deltaNamespaces: ['dash'] } }));

describe.each(['websocket', 'sse', 'polling'])('deltas in Chromium on %s', (transport) => {
  it('the page receives the first message in full, then deltas, and gets exactly the published data', async () => {
    const { page, errors } = await hub.open({ script: HARNESS, ready: 'window.delta !== undefined' });
    try {
      const channel = `dash:${transport}`;
      expect(await page.evaluate(`window.delta.open(${JSON.stringify(channel)}, ${JSON.stringify(transport)})`)).toBe(transport);
      const published = states(12);
      for (let i = 0; i < published.length; i++) {
        // A long poll must be held when the message comes, or it reads the log and gets it in full.
        if (transport === 'polling') await expect.poll(() => hub.server.stats().polling, { timeout: WAIT_MS }).toBeGreaterThan(0);
        await hub.server.hub.publish(channel, published[i]);
        await page.waitForFunction(`window.delta.messages.length >= ${i + 1}`, undefined, { timeout: WAIT_MS, polling: 20 });
      }
      const { wire, messages } = await page.evaluate<{ wire: string[]; messages: any[] }>('window.delta');
      expect(messages.map((m) => m.data)).toEqual(published);
      expect(messages.every((m) => m.type === 'message')).toBe(true);
      expect(pushTypes(wire)).toEqual(['message', ...Array(11).fill('delta')]);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);
});
