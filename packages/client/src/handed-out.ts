import { parseCursor, type CursorEntry, type Position } from '@herald/protocol';

/**
 * The position a frame hands out: the hub-signed one of its `cursor` when it has one (the client may
 * not read the channel's history, so it resumes only from signed positions), else `position`.
 */
export function handedOut(channel: string, cursor: unknown, position: Position): CursorEntry {
  if (typeof cursor !== 'string') return { epoch: position.epoch, offset: position.offset };
  const parsed = parseCursor(cursor);
  return (parsed.ok ? parsed.value.get(channel) : undefined) ?? { epoch: position.epoch, offset: position.offset };
}
