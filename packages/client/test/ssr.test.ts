import { describe, expect, it } from 'vitest';
import { startTestHub } from '@herald/testkit';

describe('the browser entry', () => {
  it('imports in Node without touching window, and falls back to polling where there is no WebSocket or EventSource', async () => {
    expect(typeof (globalThis as { window?: unknown }).window).toBe('undefined');
    expect(typeof (globalThis as { WebSocket?: unknown }).WebSocket).toBe('undefined');
    const { createClient } = await import('@herald/client');
    const hub = await startTestHub();
    const client = createClient({ url: hub.url, pollWait: 1 });
    const sub = client.subscribe('ssr');
    await new Promise<void>((resolve) => sub.on('state', (s) => s === 'subscribed' && resolve()));
    expect(client.transport).toBe('polling');
    client.close();
    await hub.close();
  });
});
