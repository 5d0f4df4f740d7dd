import { nowUs } from './clock.mjs';

/** The channel every subscriber of every target listens to. */
export const CHANNEL = 'bench';

/**
 * Marker of the publish timestamp inside each message. Clients count messages by counting it, which
 * works the same on WebSocket frames, SSE streams and polling bodies, and costs no JSON parse. No
 * envelope field is named `t`, so it appears exactly once per message.
 */
export const MARK = Buffer.from('"t":');

const PAD = 'x'.repeat(64);

/** The data of one message: a publish timestamp (µs, monotonic) and padding to about 100 bytes of JSON. */
export function benchData(seq) {
  return { t: nowUs(), seq, pad: PAD };
}
