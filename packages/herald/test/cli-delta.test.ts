import { WsTestClient } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, startCliHub, writeConfig } from './cli-process.js';

const OPEN = { subscribe: 'anonymous', publish: 'none', history: 'anonymous', presence: 'none' };
const API_KEY = 'cli-delta-test-api-key-0123';

afterEach(async () => {
  await killAll();
});

describe('herald start with namespaces.<name>.delta', () => {
  it('sends deltas on the namespaces that have it on, to clients that ask, and full messages elsewhere', async () => {
    const hub = await startCliHub([
      '--config',
      writeConfig({
        auth: { secret: 'a-secret-that-is-long-enough-for-hs256!' },
        apiKeys: [API_KEY],
        allowAnonymous: true,
        namespaces: { dash: { ...OPEN, delta: true }, chat: OPEN },
      }),
    ]);
    const ws = await WsTestClient.connect(`${hub.url.replace('http', 'ws')}/ws`);
    expect((await ws.request({ type: 'subscribe', channel: 'dash:a', delta: true })).delta).toBe(true);
    expect((await ws.request({ type: 'subscribe', channel: 'chat:a', delta: true })).delta).toBeUndefined();
    const state = (n: number): unknown => ({
      n,
      rows: Array.from({ length: 40 }, (_, i) => ({ row: `row ${i}`, value: i === n ? -1 : i })),
    });
    for (let n = 0; n < 3; n++) {
      for (const channel of ['dash:a', 'chat:a']) {
        const res = await fetch(`${hub.url}/api/publish`, {
          method: 'POST',
          headers: { 'x-herald-key': API_KEY, 'content-type': 'application/json' },
          body: JSON.stringify({ channel, data: state(n) }),
        });
        expect(res.status).toBe(200);
      }
    }
    await ws.frames.until((frames) => frames.filter((f) => f.type === 'message' || f.type === 'delta').length >= 6, '6 pushes');
    const types = (channel: string): string[] =>
      ws.frames.items.filter((f) => f.channel === channel && f.type !== 'reply').map((f) => f.type);
    expect(types('dash:a')).toEqual(['message', 'delta', 'delta']);
    expect(types('chat:a')).toEqual(['message', 'message', 'message']);
    await ws.close();
  });
});
