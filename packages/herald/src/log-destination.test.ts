import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LogDestination } from './log-destination.js';

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });

/** A fake write(2): per fd, either accepts at most `room` bytes or throws the error set. */
class FakeFds {
  readonly written = new Map<number, string>();
  readonly room = new Map<number, number>();
  readonly errors = new Map<number, string>();
  calls = 0;
  readonly write = (fd: number, data: Uint8Array): number => {
    this.calls++;
    const error = this.errors.get(fd);
    if (error !== undefined) throw errno(error);
    const room = this.room.get(fd) ?? Infinity;
    if (room === 0) throw errno('EAGAIN');
    const n = Math.min(room, data.length);
    if (room !== Infinity) this.room.set(fd, room - n);
    this.written.set(fd, (this.written.get(fd) ?? '') + Buffer.from(data.subarray(0, n)).toString());
    return n;
  };
  text(fd: number): string {
    return this.written.get(fd) ?? '';
  }
}

describe('LogDestination', () => {
  let fds: FakeFds;
  beforeEach(() => {
    vi.useFakeTimers();
    fds = new FakeFds();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes each line at once to the first descriptor', () => {
    const dest = new LogDestination({ write: fds.write });
    dest.write('a\n');
    dest.write('b\n');
    expect(fds.text(1)).toBe('a\nb\n');
    expect([dest.fd, dest.broken, dest.dropped, dest.pendingBytes]).toEqual([1, false, 0, 0]);
  });

  it('holds what a slow reader does not take (EAGAIN) and writes it in order once it reads again', () => {
    const dest = new LogDestination({ write: fds.write, retryInterval: 50 });
    fds.room.set(1, 3);
    dest.write('first\n');
    dest.write('second\n');
    expect(fds.text(1)).toBe('fir');
    expect(dest.pendingBytes).toBe(3 + 7);
    vi.advanceTimersByTime(50);
    expect(fds.text(1)).toBe('fir');
    fds.room.set(1, Infinity);
    vi.advanceTimersByTime(50);
    expect(fds.text(1)).toBe('first\nsecond\n');
    expect([dest.pendingBytes, dest.dropped, vi.getTimerCount()]).toEqual([0, 0, 0]);
  });

  it('on EPIPE moves to the next descriptor for good, the failed line included', () => {
    const dest = new LogDestination({ write: fds.write });
    fds.errors.set(1, 'EPIPE');
    dest.write('a\n');
    fds.errors.delete(1);
    dest.write('b\n');
    expect([fds.text(1), fds.text(2), dest.fd]).toEqual(['', 'a\nb\n', 2]);
  });

  it('with every descriptor failed, drops lines and never throws or retries', () => {
    const dest = new LogDestination({ write: fds.write });
    fds.errors.set(1, 'EPIPE');
    fds.errors.set(2, 'EBADF');
    dest.write('a\n');
    expect(fds.calls).toBe(2);
    dest.write('b\n');
    vi.advanceTimersByTime(10_000);
    expect([dest.broken, dest.dropped, fds.calls, vi.getTimerCount()]).toEqual([true, 2, 2, 0]);
  });

  it('does not resume half a line on the next descriptor', () => {
    const dest = new LogDestination({ write: fds.write });
    fds.room.set(1, 2);
    dest.write('half\n');
    dest.write('whole\n');
    fds.errors.set(1, 'EPIPE');
    vi.advanceTimersByTime(50);
    expect([fds.text(1), fds.text(2), dest.dropped]).toEqual(['ha', 'whole\n', 1]);
  });

  it('moves a held line, whole, to the next descriptor when the slow one fails', () => {
    const dest = new LogDestination({ write: fds.write });
    fds.room.set(1, 0);
    dest.write('held\n');
    fds.errors.set(1, 'EPIPE');
    vi.advanceTimersByTime(50);
    expect([fds.text(2), dest.pendingBytes]).toEqual(['held\n', 0]);
  });

  it('holds at most maxPendingBytes and drops the lines past it', () => {
    const dest = new LogDestination({ write: fds.write, maxPendingBytes: 10 });
    fds.room.set(1, 0);
    dest.write('12345\n');
    dest.write('1234\n');
    dest.write('x\n');
    expect([dest.pendingBytes, dest.dropped]).toEqual([8, 1]);
  });

  it('flushSync writes what is held once, without waiting: a reader still slow loses the rest', () => {
    const dest = new LogDestination({ write: fds.write });
    fds.room.set(1, 0);
    for (let i = 0; i < 100; i++) dest.write(`line ${i}\n`);
    fds.room.set(1, 14);
    const before = fds.calls;
    dest.flushSync();
    expect(fds.text(1)).toBe('line 0\nline 1\n');
    expect(fds.calls - before).toBe(3);
    expect([dest.pendingBytes, dest.dropped, vi.getTimerCount()]).toEqual([0, 98, 0]);
  });

  it('flushSync on a reader that is gone: one attempt per descriptor, then done', () => {
    const dest = new LogDestination({ write: fds.write });
    fds.room.set(1, 0);
    for (let i = 0; i < 100; i++) dest.write(`line ${i}\n`);
    fds.errors.set(1, 'EPIPE');
    fds.errors.set(2, 'EPIPE');
    const before = fds.calls;
    dest.flushSync();
    expect(fds.calls - before).toBe(2);
    expect([dest.broken, dest.dropped]).toEqual([true, 100]);
  });
});
