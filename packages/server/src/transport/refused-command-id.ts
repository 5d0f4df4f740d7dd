import { decodeCommand, type CommandId } from '@herald/protocol';

/** Frames refused by the rate limit up to this many bytes are decoded in full to find their `id`. */
export const REFUSED_DECODE_BYTES = 4096;

// Bytes read at each end of a bigger frame: a 64-character id fits with its key, even written as
// \uXXXX escapes (6 bytes a character).
const EDGE_BYTES = 512;
const ID_VALUE = String.raw`(\d+|"(?:[^"\\]|\\.)*")`;
// In a JSON object, an "id" right after the opening brace, or right before the closing one, is a
// member of that object, never text inside another value.
const FIRST_MEMBER = new RegExp(String.raw`^\s*\{\s*"id"\s*:\s*${ID_VALUE}\s*[,}]`);
const LAST_MEMBER = new RegExp(String.raw`[{,]\s*"id"\s*:\s*${ID_VALUE}\s*\}\s*$`);

/**
 * The `id` of a frame the rate limit refused, so the refusal can settle the caller's request, or
 * `null` when none can be read (then the refusal is an `error` push). A frame of at most
 * {@link REFUSED_DECODE_BYTES} is decoded as usual; a bigger one is not (decoding 64 KiB costs
 * ~30 times what receiving it does, and a flood must stay cheap), so its `id` is found only when it
 * is the object's first or last member (the SDK sends it last). Binary frames have none.
 */
export function refusedCommandId(data: Buffer, isBinary: boolean): CommandId | null {
  if (isBinary) return null;
  if (data.length <= REFUSED_DECODE_BYTES) {
    const decoded = decodeCommand(data.toString('utf8'));
    return decoded.ok ? decoded.command.id : decoded.id;
  }
  const found =
    FIRST_MEMBER.exec(data.toString('utf8', 0, EDGE_BYTES)) ?? LAST_MEMBER.exec(data.toString('utf8', data.length - EDGE_BYTES));
  return found === null ? null : idValue(found[1]!);
}

/** The id a JSON value stands for, under the rules of `decodeCommand`. */
function idValue(json: string): CommandId | null {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : null;
  return typeof value === 'string' && value.length > 0 && value.length <= 64 ? value : null;
}
