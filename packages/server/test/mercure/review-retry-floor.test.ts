import type { TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { post, publisher, startMercureHub } from './mercure-helpers.js';

// `retry: 0` would make every EventSource of the topics reconnect in a tight loop.

let hub: TestHub | undefined;

afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

describe('the retry field', () => {
  it('must be at least 50 ms (400 below)', async () => {
    hub = await startMercureHub();
    const jwt = await publisher();
    for (const retry of ['0', '1', '49']) {
      expect(
        await post(
          hub.url,
          [
            ['topic', 'urn:r'],
            ['data', 'x'],
            ['retry', retry],
          ],
          jwt,
        ),
      ).toMatchObject({
        status: 400,
        body: 'The "retry" field must be at least 50 ms',
      });
    }
    expect(
      (
        await post(
          hub.url,
          [
            ['topic', 'urn:r'],
            ['data', 'x'],
            ['retry', '50'],
          ],
          jwt,
        )
      ).status,
    ).toBe(200);
  });
});
