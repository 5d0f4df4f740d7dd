import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock as clock } from '../clock.js';
import { MAX_TIMER_DELAY } from '../timer-delay.js';
import { ExpiryTimer } from './expiry-timer.js';

const DAY = 86_400_000;

// Fake timers and a fake Date: the clock (Date.now) moves in step with the timers, as real time does.
const advance = (ms: number): void => void vi.advanceTimersByTime(ms);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: 1_900_000_000_000 });
});
afterEach(() => vi.useRealTimers());

describe('ExpiryTimer', () => {
  it('fires at its time on the clock, not a millisecond before, and once', () => {
    const fire = vi.fn();
    new ExpiryTimer(clock, clock.now() + 60_000, fire);
    advance(59_999);
    expect(fire).not.toHaveBeenCalled();
    advance(1);
    expect(fire).toHaveBeenCalledTimes(1);
    advance(DAY);
    expect(fire).toHaveBeenCalledTimes(1);
  });

  it('waits past 2³¹ − 1 ms (a timer asked for more runs after 1 ms): 30 days ahead fires at 30 days', () => {
    const fire = vi.fn();
    new ExpiryTimer(clock, clock.now() + 30 * DAY, fire);
    advance(1);
    advance(MAX_TIMER_DELAY);
    advance(5 * DAY);
    expect(fire).not.toHaveBeenCalled();
    advance(30 * DAY - MAX_TIMER_DELAY - 5 * DAY - 2);
    expect(fire).not.toHaveBeenCalled();
    advance(1);
    expect(fire).toHaveBeenCalledTimes(1);
  });

  it('a year ahead, moved in one jump of clock and timers: fires once, at the end of the jump', () => {
    const fire = vi.fn();
    new ExpiryTimer(clock, clock.now() + 365 * DAY, fire);
    advance(365 * DAY - 1);
    expect(fire).not.toHaveBeenCalled();
    advance(1);
    expect(fire).toHaveBeenCalledTimes(1);
  });

  it('a time already past fires on the next timer turn, not synchronously', () => {
    const fire = vi.fn();
    new ExpiryTimer(clock, clock.now() - 5, fire);
    expect(fire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(0);
    expect(fire).toHaveBeenCalledTimes(1);
  });

  it('cancel stops it, before the first step and after', () => {
    const early = vi.fn();
    const late = vi.fn();
    const a = new ExpiryTimer(clock, clock.now() + 1000, early);
    const b = new ExpiryTimer(clock, clock.now() + 40 * DAY, late);
    a.cancel();
    advance(30 * DAY);
    b.cancel();
    b.cancel();
    advance(20 * DAY);
    expect(early).not.toHaveBeenCalled();
    expect(late).not.toHaveBeenCalled();
  });

  it('does not keep the process alive, nor does any step on the way', () => {
    vi.useRealTimers();
    const armed = vi.spyOn(globalThis, 'setTimeout');
    const timers = [
      new ExpiryTimer(clock, clock.now() + 60_000, () => undefined),
      new ExpiryTimer(clock, clock.now() + 40 * DAY, () => undefined),
    ];
    expect(armed.mock.results.map((r) => (r.value as NodeJS.Timeout).hasRef())).toEqual([false, false]);
    for (const timer of timers) timer.cancel();
    armed.mockRestore();
  });
});
