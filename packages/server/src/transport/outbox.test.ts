import { describe, expect, it } from 'vitest';
import { Outbox, type OutboxSink } from './outbox.js';

class RecordingSink implements OutboxSink {
  readonly batches: Buffer[][] = [];
  #corked: Buffer[] | undefined;
  writableLength = 0;
  destroyed = false;
  write(chunk: Buffer): boolean {
    if (this.#corked !== undefined) this.#corked.push(chunk);
    else this.batches.push([chunk]);
    return true;
  }
  cork(): void {
    this.#corked = [];
  }
  uncork(): void {
    if (this.#corked !== undefined) this.batches.push(this.#corked);
    this.#corked = undefined;
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Outbox', () => {
  it('writes everything pushed within one turn as one corked batch, in order, after the turn', async () => {
    const sink = new RecordingSink();
    const outbox = new Outbox(sink, 1024, { overflow: () => undefined });
    const chunks = [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')];
    for (const chunk of chunks) outbox.push(chunk);
    expect(sink.batches).toEqual([]);
    await nextTurn();
    expect(sink.batches).toEqual([chunks]);
    // The same Buffer objects are written: nothing is copied per connection.
    expect(sink.batches[0]![0]).toBe(chunks[0]);
    outbox.push(Buffer.from('d'));
    await nextTurn();
    expect(sink.batches.map((b) => Buffer.concat(b).toString())).toEqual(['abc', 'd']);
  });

  it('drops the queue and reports overflow once when queued plus unsent bytes pass the limit', async () => {
    const sink = new RecordingSink();
    let overflows = 0;
    const outbox = new Outbox(sink, 10, {
      overflow: () => {
        overflows++;
      },
    });
    sink.writableLength = 6;
    outbox.push(Buffer.from('1234'));
    expect(overflows).toBe(0);
    outbox.push(Buffer.from('5'));
    expect(overflows).toBe(1);
    expect(outbox.open).toBe(false);
    outbox.push(Buffer.from('6'));
    await nextTurn();
    expect(overflows).toBe(1);
    expect(sink.batches).toEqual([]);
  });

  it('writes nothing to a destroyed sink', async () => {
    const sink = new RecordingSink();
    const outbox = new Outbox(sink, 100, { overflow: () => undefined });
    outbox.push(Buffer.from('x'));
    sink.destroyed = true;
    await nextTurn();
    expect(sink.batches).toEqual([]);
  });
});
