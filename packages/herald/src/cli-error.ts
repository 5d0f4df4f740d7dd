/**
 * A failure the CLI reports as one line on stderr (`herald: <message>`) with exit code 1, never
 * with a stack trace: bad input, an unreachable hub, a refusal.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** Writes `error` as the CLI reports it and returns the exit code 1; rethrows anything that is not a {@link CliError}. */
export function reportCliError(error: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  if (!(error instanceof CliError)) throw error;
  stderr.write(`herald: ${error.message}\n`);
  return 1;
}
