import type { HeraldServer, Logger } from '@herald/server';

/** Exit code of `herald start` after a graceful stop. */
export const EXIT_STOPPED = 0;
/** Exit code when the stop failed, or a second signal cut it short. */
export const EXIT_FAILED = 1;
/** Exit code when the process was still running `shutdownTimeout` ms after the first signal (as `timeout(1)`). */
export const EXIT_SHUTDOWN_TIMEOUT = 124;

/** What {@link handleShutdownSignals} listens on: `process` in the CLI. */
export interface SignalSource {
  on(event: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
}

/** Options of {@link handleShutdownSignals}. */
export interface ShutdownOptions {
  readonly server: Pick<HeraldServer, 'drain' | 'close'>;
  readonly logger: Logger;
  /** ms between "not ready" and `close()`. */
  readonly delay: number;
  /** ms from the first signal after which the process exits with {@link EXIT_SHUTDOWN_TIMEOUT}; more than `delay`. */
  readonly timeout: number;
  /** Ends the process at once. @default process.exit */
  readonly exit?: ((code: number) => void) | undefined;
  /** @default process */
  readonly signals?: SignalSource | undefined;
}

/**
 * Stops the hub on the first SIGTERM or SIGINT: drains for `delay` ms, then closes; resolves with
 * {@link EXIT_STOPPED}, or {@link EXIT_FAILED} when closing failed, and exits with that code at
 * once (so a signal arriving after the stop is still handled, never the default kill). A second signal exits at once
 * with {@link EXIT_FAILED}. `timeout` ms after the first signal, if the process is still running
 * (the stop hangs), it exits with
 * {@link EXIT_SHUTDOWN_TIMEOUT}. The deadline timer is unreferenced: it never delays an exit.
 * Nothing here waits for a log line: the logger's writes never block (see `LogDestination`).
 */
export function handleShutdownSignals(options: ShutdownOptions): Promise<number> {
  const { server, logger, delay, timeout } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? process;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        exit(EXIT_FAILED);
        return;
      }
      stopping = true;
      setTimeout(() => {
        logger.error({ timeout }, 'shutdown timed out: exiting now');
        exit(EXIT_SHUTDOWN_TIMEOUT);
      }, timeout).unref();
      logger.info(
        { signal, ...(delay > 0 && { delay }) },
        delay > 0 ? 'draining: not ready, closing after the shutdown delay' : 'shutting down',
      );
      server.drain();
      const wait = new Promise<void>((done) => setTimeout(done, delay));
      void wait
        .then(() => {
          if (delay > 0) logger.info({}, 'shutting down');
          return server.close();
        })
        .then(
          () => {
            logger.info({}, 'stopped');
            return EXIT_STOPPED;
          },
          (error: unknown) => {
            logger.error({ err: error }, 'shutdown failed');
            return EXIT_FAILED;
          },
        )
        .then((code) => {
          resolve(code);
          // Exit here rather than let the event loop run dry: Node's teardown after a natural end
          // closes its signal watchers, which gives SIGTERM its default action back, so a second
          // signal landing in those milliseconds killed the process by the signal instead of exit 1.
          exit(code);
        });
    };
    signals.on('SIGINT', () => stop('SIGINT'));
    signals.on('SIGTERM', () => stop('SIGTERM'));
  });
}
