import { createHmac, timingSafeEqual } from 'node:crypto';

/** Hex HMAC-SHA256 of `text` with `secret`. */
export function hmacHex(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text, 'utf8').digest('hex');
}

/**
 * The `auth` a Pusher app's auth endpoint returns for a channel: `key:hex(HMAC-SHA256(secret,
 * socket_id:channel))`, with `:channel_data` appended for a presence channel.
 */
export function channelAuth(key: string, secret: string, socketId: string, channel: string, channelData?: string): string {
  const text = channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
  return `${key}:${hmacHex(secret, text)}`;
}

/** The `auth` of a `pusher:signin`: `key:hex(HMAC-SHA256(secret, socket_id::user::user_data))`. */
export function userAuth(key: string, secret: string, socketId: string, userData: string): string {
  return `${key}:${hmacHex(secret, `${socketId}::user::${userData}`)}`;
}

/** Whether `given` equals `expected`, in time that does not depend on where they differ. */
export function authMatches(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
