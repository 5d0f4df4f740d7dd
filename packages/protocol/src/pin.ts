/**
 * Longest `lookback` of a pin (`GET /api/messages?since=now&lookback=…`, what the client SDK sends
 * when `subscribe()` is called), in milliseconds.
 */
export const MAX_PIN_LOOKBACK_MS = 60_000;
