import { checkChannelName, ErrorCode, fail, ok, parseCursor, type Position, type Result } from '@herald/protocol';

/** Channels and resume positions read from a query string (`channel=…&channel=…&since=…`). */
export interface ChannelQuery {
  readonly channels: string[];
  /** Resume positions by channel; channels the cursor does not cover are absent. */
  readonly since: Map<string, Position> | undefined;
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
  const channels = [...new Set(names)];
  if (channels.length > maxChannels) return fail(ErrorCode.LimitExceeded, `at most ${maxChannels} channels per request`);
  for (const channel of channels) {
    const checked = checkChannelName(channel);
    if (!checked.ok) return checked;
  }
  const cursor = lastEventId !== undefined && lastEventId !== '' ? lastEventId : params.get('since');
  if (cursor === null || cursor === '') return ok({ channels, since: undefined, fromNow: false });
  if (cursor === 'now') return ok({ channels, since: undefined, fromNow: true });
  const parsed = parseCursor(cursor);
  if (!parsed.ok) return parsed;
  return ok({ channels, since: parsed.value, fromNow: false });
}
