import type { IncomingMessage } from 'node:http';

/** Largest JSON body a demo route accepts, in bytes. */
export const MAX_DEMO_BODY_BYTES = 64 * 1024;

/** Why a body was refused: `too-large` past {@link MAX_DEMO_BODY_BYTES}, `invalid` when not JSON. */
export class BodyError extends Error {
  readonly reason: 'too-large' | 'invalid';
  constructor(reason: 'too-large' | 'invalid', message: string) {
    super(message);
    this.name = 'BodyError';
    this.reason = reason;
  }
}

/** Reads a request's JSON body: `undefined` when it is empty; a {@link BodyError} when too large or not JSON. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_DEMO_BODY_BYTES) throw new BodyError('too-large', `the body is larger than ${MAX_DEMO_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new BodyError('invalid', 'the body is not valid JSON');
  }
}
