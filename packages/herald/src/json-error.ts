/**
 * A `JSON.parse` error's message without the quoted excerpt of the input V8 adds to some
 * (`Unexpected token 's', "{"secret":"s3cr"... is not valid JSON`): a configuration file or variable
 * holds secrets, and the excerpt would print part of one. The position stays when V8 gives one.
 */
export function jsonErrorWithoutInput(error: unknown): string {
  const message = (error as Error).message;
  const excerpt = /^(Unexpected token) '.*?', ".*"(?:\.\.\.)? is not valid JSON$/s.exec(message);
  return excerpt === null ? message : excerpt[1]!;
}
