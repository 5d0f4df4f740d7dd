import { describe, expect, it } from 'vitest';
import { PublishTracker } from '../src/publish-tracker.js';

describe('PublishTracker', () => {
  it('settles once every tracked publish has, a failed one included', async () => {
    const publishes = new PublishTracker();
    let release!: () => void;
    publishes.track(new Promise<void>((resolve) => (release = resolve)));
    publishes.track(Promise.reject(new Error('hub closed')));
    let settled = false;
    const done = publishes.settled().then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    release();
    await done;
    expect(settled).toBe(true);
    // Nothing left to wait for.
    await publishes.settled();
  });
});
