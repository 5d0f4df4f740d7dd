import type { TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { post, publisher, startMercureHub } from './mercure-helpers.js';

// Pusher clients of a topic's channel get an update as event `type`: a type in Pusher's own
// namespaces would spoof protocol events (pusher:error, pusher_internal:member_added…).

let hub: TestHub | undefined;

afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

describe('update types', () => {
  it('refuses pusher: and pusher_internal: types (400), takes others', async () => {
    hub = await startMercureHub();
    const jwt = await publisher();
    for (const type of ['pusher:error', 'pusher_internal:member_added', 'pusher:']) {
      const answer = await post(
        hub.url,
        [
          ['topic', 'app1:room'],
          ['data', '{}'],
          ['type', type],
        ],
        jwt,
      );
      expect([type, answer.status, answer.body]).toEqual([type, 400, 'A "type" must not start with pusher: or pusher_internal:']);
    }
    for (const type of ['pusherish', 'client-x', 'Pusher:error', 'my:pusher:event']) {
      expect(
        (
          await post(
            hub.url,
            [
              ['topic', 'app1:room'],
              ['data', '{}'],
              ['type', type],
            ],
            jwt,
          )
        ).status,
      ).toBe(200);
    }
  });
});
