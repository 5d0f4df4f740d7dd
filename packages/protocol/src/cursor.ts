import { checkChannelName } from './channel-name.js';
import { ErrorCode } from './error-codes.js';
import { isPosition, type Position } from './position.js';
import { fail, ok, type Result } from './result.js';

/**
 * A position as a cursor holds it. `mac` is the hub's signature of the position, present when the
 * hub signed it: a client that may not read a channel's history resumes only from a signed position
 * (a signature is checked by the hub; clients pass it back untouched).
 */
export interface CursorEntry extends Position {
  readonly mac?: string;
}

/** Positions of one or more channels, keyed by channel name. */
export type CursorPositions = ReadonlyMap<string, CursorEntry>;

/** Most channels one cursor may hold. */
export const MAX_CURSOR_CHANNELS = 128;
/** Longest accepted cursor string. */
export const MAX_CURSOR_LENGTH = 65_536;

const PREFIX = 'c1.';
const MAC_RE = /^[A-Za-z0-9_-]{1,64}$/;

const entryText = (channel: string, p: CursorEntry): string =>
  p.mac === undefined ? `${channel}|${p.epoch}|${p.offset}` : `${channel}|${p.epoch}|${p.offset}|${p.mac}`;

function toBase64Url(text: string): string {
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): string | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  try {
    return atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    return undefined;
  }
}

/**
 * Encodes positions as an opaque cursor string (URL-, header- and SSE-id-safe). The same positions
 * always give the same string, whatever their insertion order.
 */
export function encodeCursor(positions: CursorPositions): string {
  const channels = [...positions.keys()].sort();
  const parts: string[] = [];
  for (const channel of channels) parts.push(entryText(channel, positions.get(channel)!));
  return PREFIX + toBase64Url(parts.join(';'));
}

/** A cursor for a single channel position (with its signature when it carries one). */
export function encodePosition(channel: string, position: CursorEntry): string {
  return PREFIX + toBase64Url(entryText(channel, position));
}

/**
 * Parses a cursor made by {@link encodeCursor}. Never throws: any input gives positions (with their
 * signatures, when signed) or an error.
 */
export function parseCursor(cursor: unknown): Result<Map<string, CursorEntry>> {
  if (typeof cursor !== 'string') return fail(ErrorCode.InvalidCursor, 'cursor must be a string');
  if (cursor.length > MAX_CURSOR_LENGTH) return fail(ErrorCode.InvalidCursor, 'cursor is too long');
  if (!cursor.startsWith(PREFIX)) return fail(ErrorCode.InvalidCursor, 'not a Herald cursor');
  const text = fromBase64Url(cursor.slice(PREFIX.length));
  if (text === undefined) return fail(ErrorCode.InvalidCursor, 'malformed cursor');
  const positions = new Map<string, CursorEntry>();
  if (text.length === 0) return ok(positions);
  const parts = text.split(';');
  if (parts.length > MAX_CURSOR_CHANNELS) return fail(ErrorCode.InvalidCursor, 'cursor holds too many channels');
  for (const part of parts) {
    const fields = part.split('|');
    if (fields.length !== 3 && fields.length !== 4) return fail(ErrorCode.InvalidCursor, 'malformed cursor');
    const [channel, epoch, offsetText, mac] = fields as [string, string, string, string | undefined];
    if (!checkChannelName(channel).ok) return fail(ErrorCode.InvalidCursor, 'malformed cursor');
    if (!/^(0|[1-9][0-9]{0,15})$/.test(offsetText)) return fail(ErrorCode.InvalidCursor, 'malformed cursor');
    if (mac !== undefined && !MAC_RE.test(mac)) return fail(ErrorCode.InvalidCursor, 'malformed cursor');
    const position = { epoch, offset: Number(offsetText) };
    if (!isPosition(position) || positions.has(channel)) return fail(ErrorCode.InvalidCursor, 'malformed cursor');
    positions.set(channel, mac === undefined ? position : { ...position, mac });
  }
  return ok(positions);
}

/**
 * Reads a `since` value as given on the WebSocket: a cursor string, or a position `{epoch, offset}`
 * copied from an envelope (which applies to `channel`). Returns the position for `channel`, or
 * `undefined` when the cursor does not cover it.
 */
export function parseSince(since: unknown, channel: string): Result<CursorEntry | undefined> {
  if (typeof since === 'string') {
    const parsed = parseCursor(since);
    if (!parsed.ok) return parsed;
    return ok(parsed.value.get(channel));
  }
  if (isPosition(since)) return ok({ epoch: since.epoch, offset: since.offset });
  return fail(ErrorCode.InvalidCursor, 'since must be a cursor string or a position {epoch, offset}');
}
