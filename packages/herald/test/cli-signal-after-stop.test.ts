import { afterEach, describe, expect, it } from 'vitest';
import { killAll, startCliHub } from './cli-process.js';

// A second SIGTERM that arrives once the graceful stop is done, while the process is exiting, must
// not kill it by the signal: the exit code stays the one of the stop (0). Before, the process let
// its event loop run dry, and Node's teardown gave SIGTERM its default action back for a few ms.

describe('herald start: a signal after the graceful stop finished', () => {
  afterEach(killAll);

  it.each([1, 2, 3])('SIGTERM right after "stopped" is logged: exit 0, not killed by the signal (run %i)', async () => {
    const hub = await startCliHub();
    hub.child.kill('SIGTERM');
    await hub.waitFor(/"msg":"stopped"/);
    // Gone already is as good as exit 0 here (kill then reports false and sends nothing).
    hub.child.kill('SIGTERM');
    expect(await hub.exited).toBe(0);
  });
});
