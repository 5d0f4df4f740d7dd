import { pino, type Logger as PinoLogger } from 'pino';
import { LogDestination } from './log-destination.js';

/**
 * The hub's JSON-lines logger on stdout (stderr once stdout fails, nothing once both do); anything
 * that looks like a token is redacted. Logging never blocks, throws or holds the process: see
 * {@link LogDestination}. pino registers no exit flush for a destination it did not build.
 */
export function createLogger(level: string, destination: LogDestination = new LogDestination()): PinoLogger {
  return pino(
    {
      name: 'herald',
      level,
      redact: {
        paths: ['token', '*.token', 'authorization', '*.authorization', 'req.headers.authorization', 'req.headers.cookie'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
