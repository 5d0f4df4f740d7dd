import { checkChannelName, ErrorCode, fail, ok, parseCursor, type CursorEntry, type Result } from '@herald/protocol';

/** Cursors {@link readChannelQuery} keeps parsed; past it, it starts again empty. */
const MAX_PARSED_CURSORS = 256;
/** Longest cursor kept parsed (a few channels' worth), so the kept ones stay small. */
const MAX_KEPT_CURSOR_LENGTH = 512;
/**
 * Recently parsed cursors. The polls of a busy channel's subscribers carry the same few cursors
 * (each answer's cursor goes to every poll that got the answer), and parsing one (base64, splits,
 * checks) costs more than the rest of reading the query. The maps are shared, never modified.
 */
const parsedCursors = new Map<string, ReadonlyMap<string, CursorEntry>>();

/** Channels and resume positions read from a query string (`channel=…&channel=…&since=…`). */
export interface ChannelQuery {
  readonly channels: string[];
  /** Resume positions by channel; channels the cursor does not cover are absent. */
  readonly since: ReadonlyMap<string, CursorEntry> | undefined;
  /** `since=now`: start at the current end of every channel's log. */
  readonly fromNow: boolean;
}

/**
 * Reads `channel` (one or more, duplicates ignored, at most `maxChannels`) and `since` (a cursor,
 * or `now`; `lastEventId`, when given, wins over it). Never throws.
 */
export function readChannelQuery(params: URLSearchParams, maxChannels: number, lastEventId?: string): Result<ChannelQuery> {
  const names = params.getAll('channel');
  if (names.length === 0) return fail(ErrorCode.InvalidChannel, 'at least one channel parameter is required');
  const channels = names.length === 1 ? names : [...new Set(names)];
  if (channels.length > maxChannels) return fail(ErrorCode.LimitExceeded, `at most ${maxChannels} channels per request`);
  for (const channel of channels) {
    const checked = checkChannelName(channel);
    if (!checked.ok) return checked;
  }
  const cursor = lastEventId !== undefined && lastEventId !== '' ? lastEventId : params.get('since');
  if (cursor === null || cursor === '') return ok({ channels, since: undefined, fromNow: false });
  if (cursor === 'now') return ok({ channels, since: undefined, fromNow: true });
  let since = parsedCursors.get(cursor);
  if (since === undefined) {
    const parsed = parseCursor(cursor);
    if (!parsed.ok) return parsed;
    since = parsed.value;
    if (cursor.length <= MAX_KEPT_CURSOR_LENGTH) {
      if (parsedCursors.size >= MAX_PARSED_CURSORS) parsedCursors.clear();
      parsedCursors.set(cursor, since);
    }
  }
  return ok({ channels, since, fromNow: false });
}
