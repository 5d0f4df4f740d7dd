import { ErrorCode, type WireError } from '@herald/protocol';
import { toWireError } from '../errors.js';

/**
 * The wire form of an error thrown while checking one channel of a request: a refusal of that
 * channel (`2000`, `2001`) names it in `channel`, so that a client asking for several channels
 * drops that one and asks again for the others. Any other error (the app unreachable, the engine
 * down) is about the request, not the channel, and names none.
 */
export function channelRefusal(error: unknown, channel: string): WireError {
  const wire = toWireError(error);
  return wire.code === ErrorCode.Unauthorized || wire.code === ErrorCode.Forbidden ? { ...wire, channel } : wire;
}
