import { startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

const ALPHABET = 'abcdefghijklmnop';

/**
 * `length` random letters of 16: with a data text of a power-of-two length (so Fossil's hash table
 * has a power-of-two size and only the low half of its rolling hash counts), most windows collide
 * and Fossil tries up to 250 candidates per position.
 */
function noise(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET.charAt(Math.floor(Math.random() * 16));
  return out;
}

describe('review: the cost of a delta is bounded', () => {
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
  });

  it('a large message on a delta channel goes in full without stalling the hub on its delta', async () => {
    hub = await startTestHub({ deltaNamespaces: ['dash'] });
    const ws = await WsTestClient.connect(hub.wsUrl);
    await ws.request({ type: 'subscribe', channel: 'dash:big', delta: true });
    await hub.server.hub.publish('dash:big', { blob: noise(256 * 1024 - 11) });
    await ws.frames.until((all) => all.some((f) => f.type === 'message'), 'the first message');
    const started = performance.now();
    // On main the hub built a Fossil delta of these 256 K code units (`{"blob":"…"}`): about a second of blocked event loop.
    await hub.server.hub.publish('dash:big', { blob: noise(256 * 1024 - 11) });
    const isSecond = (f: any): boolean => (f.type === 'message' || f.type === 'delta') && f.offset === 2;
    const second = (await ws.frames.until((all) => all.some(isSecond), 'the second')).find(isSecond);
    const elapsed = performance.now() - started;
    expect(second?.type).toBe('message');
    expect(elapsed).toBeLessThan(500);
  });
});
