import type { IncomingMessage } from 'node:http';
import { ErrorCode, fail, ok, type Result } from '@herald/protocol';

/** The answer when the app read the body before the hub (a body parser in front of `handleRequest`). */
export const BODY_ALREADY_READ =
  'the request body was already read by the app (a body parser ran before Herald): call handleRequest before any body parser';

/**
 * Reads a request body as UTF-8 text, refusing more than `limit` bytes (by `Content-Length` before
 * reading anything, or as soon as the stream passes it). A body something else already read (the
 * stream has ended, or a parser set `req.body`) is refused at once with `3000` (500), not waited
 * for. Never rejects.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Result<string>> {
  if (req.readableEnded || (req as { body?: unknown }).body !== undefined)
    return Promise.resolve(fail<string>(ErrorCode.Internal, BODY_ALREADY_READ));
  const tooLarge = fail<string>(ErrorCode.TooLarge, `body is larger than ${limit} bytes`);
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.resolve(tooLarge);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: Result<string>): void => {
      if (done) return;
      done = true;
      resolve(result);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        req.pause();
        finish(tooLarge);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => finish(ok(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', () => finish(fail(ErrorCode.InvalidField, 'request body was cut off')));
    req.on('close', () => finish(fail(ErrorCode.InvalidField, 'request body was cut off')));
  });
}
