import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@herald/testkit';
import { SqliteBroker } from '@herald/sqlite';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'herald-sqlite-sweep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

describe('sweep', () => {
  let clock: ManualClock;
  let path: string;
  const open: SqliteBroker[] = [];
  const broker = (historyTtl = 0): SqliteBroker => {
    const b = new SqliteBroker({ path, clock, historyTtl, sweepInterval: 60 });
    open.push(b);
    return b;
  };
  /** Fires the sweep timer once, then runs its later batches (each on setImmediate) until none is left. */
  const sweep = (): void => {
    vi.advanceTimersByTime(60_000);
    // The one timer left is the sweep interval itself.
    while (vi.getTimerCount() > 1) vi.advanceTimersToNextTimer();
  };

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setImmediate', 'clearImmediate'] });
    clock = new ManualClock(1_700_000_000_000);
    path = join(dir, `${files++}.db`);
  });
  afterEach(async () => {
    for (const b of open.splice(0)) await b.close();
    vi.useRealTimers();
  });

  it('deletes expired messages from the file, not only from reads', async () => {
    const b = broker(30);
    for (let i = 1; i <= 4; i++) await b.publish('ttl', String(i));
    clock.time += 20_000;
    await b.publish('ttl', '5');
    clock.time += 15_000;
    sweep();
    await b.close();
    // Reopened without an age limit, the file holds only what the sweep kept.
    const unlimited = broker(0);
    const read = await unlimited.read('ttl');
    expect(read.messages.map((m) => m.offset)).toEqual([5]);
    expect(read.oldest).toBe(5);
    expect(read.position.offset).toBe(5);
  });

  it('forgets channels that were only read and that nobody subscribes to, in batches, and keeps the others', async () => {
    const b = broker();
    const names = Array.from({ length: 1200 }, (_, i) => `idle-${i}`);
    const before = new Map<string, string>();
    for (const name of names) before.set(name, (await b.position(name)).epoch);
    await b.subscribe('idle-7');
    await b.publish('used', '1');
    const used = await b.position('used');
    sweep();
    for (const name of names) {
      const { epoch } = await b.position(name);
      if (name === 'idle-7') expect(epoch, name).toBe(before.get(name));
      else expect(epoch, name).not.toBe(before.get(name));
    }
    expect(await b.position('used')).toEqual(used);
  });

  it('stops with close: a pending sweep never touches a closed database', async () => {
    const b = broker();
    for (let i = 0; i < 600; i++) await b.position(`p-${i}`);
    vi.advanceTimersByTime(60_000);
    await b.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});
