import type { TestHub } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMercureHub } from './mercure-helpers.js';

// A stream reads its topics' channels and the door's own `~mercure`: with the default maxChannels
// (128) a subscription takes 127 topics, and says so when given more.

let hub: TestHub;
beforeAll(async () => {
  hub = await startMercureHub({ anonymous: true });
});
afterAll(async () => {
  await hub.close();
});

const url = (count: number): string =>
  `${hub.url}/.well-known/mercure?${Array.from({ length: count }, (_, i) => `topic=${encodeURIComponent(`urn:t:${i}`)}`).join('&')}`;

describe('topics per Mercure subscription', () => {
  it('takes maxChannels − 1 topics', async () => {
    const abort = new AbortController();
    const res = await fetch(url(127), { signal: abort.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    abort.abort();
    await res.body?.cancel().catch(() => undefined);
  });

  it('refuses more with 400 and the limit', async () => {
    const res = await fetch(url(128));
    expect(res.status).toBe(400);
    expect(await res.text()).toBe('At most 127 "topic" parameters');
  });
});
