import { decode } from '@msgpack/msgpack';
import { decodeCommandValue, ErrorCode, MAX_JSON_DEPTH, type DecodeResult } from '@herald/protocol';

const invalid = (message: string): DecodeResult => ({ ok: false, id: null, error: { code: ErrorCode.InvalidJson, message } });

/**
 * Decodes one `herald.msgpack` binary frame into a command, as `decodeCommand` does a JSON text
 * frame: the same checks, after the MessagePack value was proved to be one JSON could have carried
 * (maps, arrays, strings, finite numbers, booleans, nil; no binary, extension or timestamp values)
 * and to nest at most {@link MAX_JSON_DEPTH} deep. The frame's size is bounded by `maxMessageBytes`
 * before it gets here, and every decoded value costs at least one of its bytes, so the check is a
 * linear walk without recursion. Never throws.
 */
export function decodeMsgpackCommand(frame: Uint8Array): DecodeResult {
  let value: unknown;
  try {
    value = decode(frame);
  } catch {
    return invalid('frame is not valid MessagePack');
  }
  const problem = notJsonLike(value);
  if (problem !== undefined) return invalid(problem);
  return decodeCommandValue(value);
}

/** Why `root` could not have come from JSON, or `undefined` when it could. */
function notJsonLike(root: unknown): string | undefined {
  const stack: unknown[] = [root];
  const depths: number[] = [0];
  while (stack.length > 0) {
    const value = stack.pop();
    const depth = depths.pop()!;
    if (value === null || typeof value === 'string' || typeof value === 'boolean') continue;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return 'MessagePack numbers must be finite';
      continue;
    }
    const children = Array.isArray(value)
      ? (value as unknown[])
      : typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype
        ? Object.values(value)
        : undefined;
    if (children === undefined) return 'MessagePack frames may hold only maps, arrays, strings, numbers, booleans and nil';
    if (depth + 1 > MAX_JSON_DEPTH) return 'MessagePack nests too deeply';
    for (const child of children) {
      stack.push(child);
      depths.push(depth + 1);
    }
  }
  return undefined;
}
