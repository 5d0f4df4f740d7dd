import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EXIT_FAILED, EXIT_SHUTDOWN_TIMEOUT, EXIT_STOPPED, handleShutdownSignals } from './shutdown.js';

interface Harness {
  readonly signals: EventEmitter;
  readonly exit: ReturnType<typeof vi.fn<(code: number) => void>>;
  readonly lines: string[];
  readonly calls: string[];
  finishClose: (error?: Error) => void;
  readonly stopped: Promise<number>;
}

function harness(delay: number, timeout: number): Harness {
  const signals = new EventEmitter();
  const lines: string[] = [];
  const calls: string[] = [];
  const log = (msg?: string): void => void lines.push(msg ?? '');
  let finishClose: (error?: Error) => void = () => {};
  const server = {
    drain: () => void calls.push('drain'),
    close: () => {
      calls.push('close');
      return new Promise<void>((resolve, reject) => {
        finishClose = (error) => (error === undefined ? resolve() : reject(error));
      });
    },
  };
  const exit = vi.fn<(code: number) => void>();
  const logger = {
    debug: (_: object, m?: string) => log(m),
    info: (_: object, m?: string) => log(m),
    warn: (_: object, m?: string) => log(m),
    error: (_: object, m?: string) => log(m),
  };
  const stopped = handleShutdownSignals({ server, logger, delay, timeout, exit, signals });
  const h: Harness = {
    signals,
    exit,
    lines,
    calls,
    finishClose: (error) => finishClose(error),
    stopped,
  };
  return h;
}

describe('handleShutdownSignals', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('drains at the first signal, closes after the delay, resolves 0', async () => {
    const h = harness(1000, 5000);
    h.signals.emit('SIGTERM');
    expect(h.calls).toEqual(['drain']);
    await vi.advanceTimersByTimeAsync(999);
    expect(h.calls).toEqual(['drain']);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.calls).toEqual(['drain', 'close']);
    h.finishClose();
    expect(await h.stopped).toBe(EXIT_STOPPED);
    expect(h.lines).toEqual(['draining: not ready, closing after the shutdown delay', 'shutting down', 'stopped']);
    // Exits itself: a natural end of the event loop would give SIGTERM its default action back.
    expect(h.exit.mock.calls).toEqual([[EXIT_STOPPED]]);
  });

  it('a second signal (either one) exits at once with 1', async () => {
    const h = harness(0, 5000);
    h.signals.emit('SIGINT');
    await vi.advanceTimersByTimeAsync(0);
    h.signals.emit('SIGTERM');
    expect(h.exit).toHaveBeenCalledTimes(1);
    expect(h.exit).toHaveBeenCalledWith(EXIT_FAILED);
    expect(h.lines.at(-1)).toBe('second signal: exiting now');
  });

  it('exits with 124 when the stop has not finished by the deadline, counted from the first signal', async () => {
    const h = harness(1000, 3000);
    h.signals.emit('SIGTERM');
    await vi.advanceTimersByTimeAsync(2999);
    expect(h.exit).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(h.exit).toHaveBeenCalledWith(EXIT_SHUTDOWN_TIMEOUT);
    expect(h.lines.at(-1)).toBe('shutdown timed out: exiting now');
  });

  it('resolves 1 when closing fails', async () => {
    const h = harness(0, 5000);
    h.signals.emit('SIGTERM');
    await vi.advanceTimersByTimeAsync(0);
    h.finishClose(new Error('engine refused'));
    expect(await h.stopped).toBe(EXIT_FAILED);
    expect(h.lines.at(-1)).toBe('shutdown failed');
    expect(h.exit.mock.calls).toEqual([[EXIT_FAILED]]);
  });
});
