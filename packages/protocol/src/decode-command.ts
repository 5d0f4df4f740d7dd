import { checkChannelName } from './channel-name.js';
import type { CommandId, DecodedCommand } from './commands.js';
import { parseSince, type CursorEntry } from './cursor.js';
import { ErrorCode, type WireError } from './error-codes.js';
import { checkIdempotencyKey } from './idempotency-key.js';
import { exceedsJsonDepth } from './json-depth.js';
import { isPosition } from './position.js';
import { checkRpcMethod } from './rpc-method.js';

/** Longest token an `auth` or `refresh` command may carry. */
export const MAX_TOKEN_LENGTH = 16_384;

/** Largest `limit` a `history` command may ask for. */
export const MAX_HISTORY_LIMIT = 1000;

/** The refusal of an `ack` (command or `POST /api/ack` body) without a valid position. */
export const ACK_FIELDS = 'ack needs epoch (1-64 characters of A-Z a-z 0-9 _ -) and offset (an integer >= 1)';

/** The outcome of {@link decodeCommand}: a command, or an error with the command id when one was readable. */
export type DecodeResult =
  | { readonly ok: true; readonly command: DecodedCommand }
  | { readonly ok: false; readonly id: CommandId | null; readonly error: WireError };

function error(id: CommandId | null, code: number, message: string): DecodeResult {
  return { ok: false, id, error: { code, message } };
}

function readId(value: unknown): CommandId | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && value.length > 0 && value.length <= 64) return value;
  return undefined;
}

const has = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/**
 * Decodes one WebSocket text frame into a command ({@link DecodedCommand}: a `since` is resolved to
 * the command's channel position here, once). Never throws: every input gives a command or a typed
 * error. Unknown fields are ignored; `__proto__` keys are plain data (JSON.parse makes them
 * own properties and nothing here merges objects).
 */
export function decodeCommand(text: string): DecodeResult {
  if (exceedsJsonDepth(text)) return error(null, ErrorCode.InvalidJson, 'JSON nests too deeply');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return error(null, ErrorCode.InvalidJson, 'frame is not valid JSON');
  }
  return decodeCommandValue(value);
}

/**
 * {@link decodeCommand} of a frame already parsed (a `herald.msgpack` frame decoded by the hub, with
 * its depth and value types checked as JSON's would be). Never throws.
 */
export function decodeCommandValue(value: unknown): DecodeResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return error(null, ErrorCode.InvalidFrame, 'frame must be a JSON object');
  }
  const frame = value as Record<string, unknown>;
  const id = readId(frame['id']);
  if (id === undefined) {
    return error(null, ErrorCode.InvalidFrame, 'id must be a non-negative integer or a string of 1-64 characters');
  }
  const type = frame['type'];
  if (typeof type !== 'string') return error(id, ErrorCode.InvalidFrame, 'type must be a string');
  if (type === 'ping') return { ok: true, command: { type, id } };
  if (type === 'auth' || type === 'refresh') {
    const token = frame['token'];
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      return error(id, ErrorCode.InvalidField, `token must be a string of 1-${MAX_TOKEN_LENGTH} characters`);
    }
    return { ok: true, command: { type, id, token } };
  }
  if (type === 'rpc') {
    const method = checkRpcMethod(frame['method']);
    if (!method.ok) return { ok: false, id, error: method.error };
    // An absent `data` is `null`: the app always receives the field.
    return { ok: true, command: { type, id, method: method.value, data: frame['data'] ?? null } };
  }
  if (type !== 'subscribe' && type !== 'unsubscribe' && type !== 'publish' && type !== 'history' && type !== 'presence' && type !== 'ack') {
    return error(id, ErrorCode.UnknownCommand, `unknown command type "${type.slice(0, 32)}"`);
  }
  const channel = checkChannelName(frame['channel']);
  if (!channel.ok) return { ok: false, id, error: channel.error };
  const name = channel.value;

  switch (type) {
    case 'ack': {
      const position = { epoch: frame['epoch'], offset: frame['offset'] };
      if (!isPosition(position) || position.offset < 1) return error(id, ErrorCode.InvalidField, ACK_FIELDS);
      return { ok: true, command: { type, id, channel: name, epoch: position.epoch, offset: position.offset } };
    }
    case 'unsubscribe':
    case 'presence':
      return { ok: true, command: { type, id, channel: name } };
    case 'publish': {
      if (!has(frame, 'data')) return error(id, ErrorCode.InvalidField, 'publish needs a data field');
      const key = frame['idempotencyKey'];
      if (key === undefined || key === null) return { ok: true, command: { type, id, channel: name, data: frame['data'] } };
      const checked = checkIdempotencyKey(key);
      if (!checked.ok) return { ok: false, id, error: checked.error };
      return { ok: true, command: { type, id, channel: name, data: frame['data'], idempotencyKey: checked.value } };
    }
    case 'subscribe':
    case 'history': {
      const since = frame['since'];
      let checkedSince: CursorEntry | undefined;
      if (since !== undefined && since !== null) {
        const parsed = parseSince(since, name);
        if (!parsed.ok) return { ok: false, id, error: parsed.error };
        checkedSince = parsed.value;
      }
      if (type === 'subscribe') {
        const joinLeave = frame['joinLeave'];
        if (joinLeave !== undefined && typeof joinLeave !== 'boolean') {
          return error(id, ErrorCode.InvalidField, 'joinLeave must be a boolean');
        }
        const delta = frame['delta'];
        if (delta !== undefined && typeof delta !== 'boolean') return error(id, ErrorCode.InvalidField, 'delta must be a boolean');
        return {
          ok: true,
          command: {
            type,
            id,
            channel: name,
            ...(checkedSince !== undefined && { since: checkedSince }),
            ...(joinLeave === true && { joinLeave }),
            ...(delta === true && { delta }),
          },
        };
      }
      const limit = frame['limit'];
      if (limit !== undefined && (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > MAX_HISTORY_LIMIT)) {
        return error(id, ErrorCode.InvalidField, `limit must be an integer from 1 to ${MAX_HISTORY_LIMIT}`);
      }
      return {
        ok: true,
        command: {
          type,
          id,
          channel: name,
          ...(checkedSince !== undefined && { since: checkedSince }),
          ...(limit !== undefined && { limit }),
        },
      };
    }
  }
}
