import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@herald/testkit';
import { SqliteBroker, type SqliteBrokerOptions } from '@herald/sqlite';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

const dir = mkdtempSync(join(tmpdir(), 'herald-sqlite-durability-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

describe('durability: logs and epochs survive closing and reopening the file', () => {
  const clock = new ManualClock(1_700_000_000_000);
  const open: SqliteBroker[] = [];
  let path: string;
  const broker = (options: Omit<SqliteBrokerOptions, 'path'> = {}): SqliteBroker => {
    const b = new SqliteBroker({ path, clock, ...options });
    open.push(b);
    return b;
  };
  const publish = async (b: SqliteBroker, channel: string, count: number): Promise<void> => {
    for (let i = 0; i < count; i++) await b.publish(channel, JSON.stringify({ i }));
  };

  afterEach(async () => {
    for (const b of open.splice(0)) await b.close();
    path = '';
  });
  // A fresh file per test.
  const fresh = (): void => {
    path = join(dir, `${files++}.db`);
  };

  it('keeps each channel’s epoch, last offset and messages; resuming from any position yields exactly the rest', async () => {
    fresh();
    const first = broker();
    await publish(first, 'a', 20);
    await publish(first, 'b', 3);
    const before = { a: await first.read('a'), b: await first.position('b') };
    await first.close();

    const second = broker();
    expect(await second.position('a')).toEqual(before.a.position);
    expect(await second.position('b')).toEqual(before.b);
    const all = await second.read('a');
    // Stored envelopes come back byte for byte.
    expect(all).toEqual(before.a);
    for (let k = 0; k <= 20; k++) {
      const read = await second.read('a', { since: { epoch: before.a.position.epoch, offset: k } });
      expect(
        read.messages.map((m) => m.offset),
        `since ${k}`,
      ).toEqual(range(k + 1, 20));
    }
    const next = await second.publish('a', '"after restart"');
    expect(next).toMatchObject({ epoch: before.a.position.epoch, offset: 21 });
    expect((await second.publish('b', '1')).offset).toBe(4);
  });

  it('works the same with synchronous "full", and the setting may change between runs', async () => {
    fresh();
    const first = broker({ synchronous: 'full' });
    await publish(first, 'f', 3);
    const position = await first.position('f');
    await first.close();
    const second = broker({ synchronous: 'normal' });
    expect(await second.position('f')).toEqual(position);
    await second.close();
    const third = broker({ synchronous: 'full' });
    expect((await third.read('f', { since: { epoch: position.epoch, offset: 1 } })).messages.map((m) => m.offset)).toEqual([2, 3]);
    expect((await third.publish('f', '4')).offset).toBe(4);
  });

  it('keeps the epoch of a channel that was only read, so a cursor at offset 0 resumes without a gap', async () => {
    fresh();
    const first = broker();
    const quiet = await first.position('quiet');
    expect(quiet.offset).toBe(0);
    await first.close();
    const second = broker();
    expect(await second.position('quiet')).toEqual(quiet);
    await publish(second, 'quiet', 2);
    const read = await second.read('quiet', { since: quiet });
    expect(read.messages.map((m) => [m.epoch, m.offset])).toEqual([
      [quiet.epoch, 1],
      [quiet.epoch, 2],
    ]);
  });

  it('survives several restarts with offsets consecutive across all of them', async () => {
    fresh();
    let epoch: string | undefined;
    for (let round = 0; round < 4; round++) {
      const b = broker();
      await publish(b, 'many', 5);
      const read = await b.read('many');
      epoch ??= read.position.epoch;
      expect(read.position).toEqual({ epoch, offset: 5 * (round + 1) });
      expect(read.messages.map((m) => m.offset)).toEqual(range(1, 5 * (round + 1)));
      await b.close();
    }
  });

  it('applies a smaller history size after reopening, before anything is published', async () => {
    fresh();
    const first = broker({ historySize: 100 });
    await publish(first, 'shrink', 30);
    const { epoch } = await first.position('shrink');
    await first.close();

    const second = broker({ historySize: 10 });
    const read = await second.read('shrink');
    expect(read.oldest).toBe(21);
    expect(read.messages.map((m) => m.offset)).toEqual(range(21, 30));
    // A position that left the new window reads from its oldest message (the hub reports the gap).
    expect((await second.read('shrink', { since: { epoch, offset: 5 } })).messages.map((m) => m.offset)).toEqual(range(21, 30));
    expect((await second.read('shrink', { since: { epoch, offset: 25 } })).messages.map((m) => m.offset)).toEqual(range(26, 30));
    await second.publish('shrink', '31');
    expect((await second.read('shrink')).messages.map((m) => m.offset)).toEqual(range(22, 31));
  });

  it('applies the age limit after reopening: expired messages are not returned, offsets keep counting', async () => {
    fresh();
    const first = broker({ historyTtl: 0 });
    await publish(first, 'old', 5);
    clock.time += 60_000;
    await publish(first, 'old', 2);
    await first.close();

    const second = broker({ historyTtl: 30 });
    const read = await second.read('old');
    expect(read.messages.map((m) => m.offset)).toEqual([6, 7]);
    expect(read.oldest).toBe(6);
    clock.time += 31_000;
    expect(await second.read('old')).toMatchObject({ messages: [], oldest: 8, position: { offset: 7 } });
    expect((await second.publish('old', '8')).offset).toBe(8);
  });

  it('deletes from the file what a publish trims, by size and by age', async () => {
    fresh();
    const first = broker({ historySize: 10, historyTtl: 30 });
    await publish(first, 'size', 25);
    await publish(first, 'age', 3);
    clock.time += 31_000;
    await first.publish('age', '"fresh"');
    await first.close();

    // Reopened with no limits, the file holds only what the publishes kept.
    const unlimited = broker({ historySize: 1000, historyTtl: 0 });
    expect((await unlimited.read('size')).messages.map((m) => m.offset)).toEqual(range(16, 25));
    expect((await unlimited.read('age')).messages.map((m) => m.offset)).toEqual([4]);
  });

  it('gives new epochs when the file is gone, so old positions are foreign', async () => {
    fresh();
    const first = broker();
    await publish(first, 'gone', 3);
    const old = await first.position('gone');
    await first.close();
    rmSync(path);

    const second = broker();
    const position = await second.position('gone');
    expect(position.offset).toBe(0);
    expect(position.epoch).not.toBe(old.epoch);
    await publish(second, 'gone', 2);
    const read = await second.read('gone', { since: old });
    expect(read.messages.map((m) => [m.epoch, m.offset])).toEqual([
      [position.epoch, 1],
      [position.epoch, 2],
    ]);
  });

  it('keeps nothing across instances for a ":memory:" database', async () => {
    path = ':memory:';
    const first = broker();
    await publish(first, 'm', 3);
    const { epoch } = await first.position('m');
    await first.close();
    const second = broker();
    const position = await second.position('m');
    expect(position.offset).toBe(0);
    expect(position.epoch).not.toBe(epoch);
  });
});
