/** The logging surface Herald uses; a pino logger satisfies it. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A logger that drops everything (the default for library use and tests). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
