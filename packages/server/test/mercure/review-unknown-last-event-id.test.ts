import type { TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { post, publisher, startMercureHub, subscribe, token } from './mercure-helpers.js';

// draft-07, Reconciliation: the Last-Event-ID answer is "the reserved value earliest if there is no
// preceding event (… when the subscriber requests an event that doesn't exist)". Never the latest
// update's id (a private update's id would leak), and a private update's id the subscriber may not
// see is an id that does not exist for it (no confirmation of a guessed id).

let hub: TestHub | undefined;
const opened: { close(): Promise<unknown> }[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
  await hub?.close();
  hub = undefined;
});

const SECRET_ID = 'https://example.com/orders/4711-alice';

describe('the Last-Event-ID answer', () => {
  it('is earliest for an unknown id and for a private update’s id the subscriber may not see', async () => {
    hub = await startMercureHub({ anonymous: true });
    const jwt = await publisher();
    const topic = 'https://example.com/users/alice';
    expect(
      (
        await post(
          hub.url,
          [
            ['topic', topic],
            ['data', 'x'],
            ['private', 'on'],
            ['id', SECRET_ID],
          ],
          jwt,
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await post(
          hub.url,
          [
            ['topic', topic],
            ['data', 'after'],
          ],
          jwt,
        )
      ).status,
    ).toBe(200);
    for (const asked of ['whatever', SECRET_ID]) {
      const anonymous = await subscribe(hub.url, [topic], { 'last-event-id': asked });
      opened.push(anonymous);
      expect([asked, anonymous.response.headers['last-event-id']]).toEqual([asked, 'earliest']);
    }
    // Nothing of the history is replayed for the hidden id (it starts from now, like an unknown one).
    const probe = await subscribe(hub.url, [topic], { 'last-event-id': SECRET_ID });
    opened.push(probe);
    expect(
      (
        await post(
          hub.url,
          [
            ['topic', topic],
            ['data', 'live'],
          ],
          jwt,
        )
      ).status,
    ).toBe(200);
    await probe.events.count(1);
    expect(probe.events.items.map((e) => e.data)).toEqual(['live']);
    // A subscriber allowed the topic resumes after it, and the answer is the id asked.
    const allowed = await subscribe(hub.url, [topic], {
      authorization: `Bearer ${await token({ subscribe: [topic] })}`,
      'last-event-id': SECRET_ID,
    });
    opened.push(allowed);
    expect(allowed.response.headers['last-event-id']).toBe(SECRET_ID);
    await allowed.events.count(2);
    expect(allowed.events.items.map((e) => e.data)).toEqual(['after', 'live']);
  });
});
