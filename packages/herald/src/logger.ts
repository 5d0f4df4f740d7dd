import { pino, type Logger as PinoLogger } from 'pino';

/** The hub's JSON-lines logger on stdout; anything that looks like a token is redacted. */
export function createLogger(level: string): PinoLogger {
  return pino({
    name: 'herald',
    level,
    redact: {
      paths: ['token', '*.token', 'authorization', '*.authorization', 'req.headers.authorization', 'req.headers.cookie'],
      censor: '[redacted]',
    },
  });
}
