import { MAX_PIN_LOOKBACK_MS, parseCursor, type CursorEntry } from '@herald/protocol';
import { query, refusedChannel, request } from './transports/http.js';
import type { Link } from './transports/transport.js';

/** Travel time a pin allows for, on top of the time since the oldest call it pins, in ms. */
const TRAVEL_ALLOWANCE = 5_000;

interface PinAnswer {
  readonly cursor: string;
  readonly now: number;
  readonly recent?: readonly { readonly channel: string; readonly offset: number; readonly time: number; readonly cursor: string }[];
}

/**
 * Where subscriptions begin: for each channel, the position just before the first message the hub
 * stored after the `subscribe()` call, given as `calledAt` (`performance.now()` of the call).
 *
 * One `GET /api/messages?since=now&lookback=…` for all the channels, over plain HTTP (it passes any
 * proxy). The hub answers the end of each log, its clock, and the times of the messages stored
 * within the lookback. The call happened at least the request's whole round trip before the hub
 * answered, so every message the hub stamped at or after `now − (received − calledAt)` may have
 * been stored after the call: the subscription starts before the first of them. It may thus get a
 * message stored up to one round trip before the call, never miss one stored after it.
 *
 * A channel the hub refuses is left out (asked again without it); rejects like any request on any
 * other failure (network, a refusal naming no channel): the caller then starts from the
 * transport's "now".
 */
export async function pinPositions(
  link: Link,
  calls: ReadonlyMap<string, number>,
  clock: () => number = () => performance.now(),
): Promise<Map<string, CursorEntry>> {
  const asked = new Map(calls);
  const oldest = Math.min(...calls.values());
  let answer: PinAnswer | undefined;
  let received = 0;
  while (answer === undefined) {
    const sent = clock();
    const lookback = Math.min(MAX_PIN_LOOKBACK_MS, Math.ceil(sent - oldest) + TRAVEL_ALLOWANCE);
    try {
      answer = await request<PinAnswer>(link, `/api/messages${query(asked.keys(), { since: 'now', lookback: String(lookback) })}`);
      received = clock();
    } catch (error) {
      // One channel refused: the others are pinned without it (the transport reports its refusal).
      const channel = refusedChannel(error, asked.keys());
      if (channel === undefined) throw error;
      asked.delete(channel);
      if (asked.size === 0) return new Map();
    }
  }
  const ends = parseCursor(answer.cursor);
  const pinned = new Map<string, CursorEntry>();
  for (const [channel, calledAt] of asked) {
    // The call on the hub's clock, at the latest (message times are whole milliseconds).
    const cutoff = Math.floor(answer.now - (received - calledAt));
    const first = answer.recent?.find((m) => m.channel === channel && m.time >= cutoff);
    const parsed = first === undefined ? ends : parseCursor(first.cursor);
    const position = parsed.ok ? parsed.value.get(channel) : undefined;
    if (position !== undefined) pinned.set(channel, position);
  }
  return pinned;
}
