/** The characters of a Pusher channel name (Pusher's own rule), at most {@link MAX_CHANNEL_NAME} of them. */
const CHANNEL_NAME = /^[A-Za-z0-9_\-=@,.;]+$/;

/** Pusher's limit on a channel name's length. */
export const MAX_CHANNEL_NAME = 164;

/** The channel of a signed-in user's connections (pusher-js subscribes to it after `signin`): the SDK's `sendToUser` triggers on it. */
export const USER_CHANNEL_PREFIX = '#server-to-user-';

/** What a Pusher channel's name makes it. */
export interface PusherChannelKind {
  /** `private-…` (including `private-encrypted-…` and `private-cache-…`): needs a signature. */
  readonly private: boolean;
  /** `presence-…` (including `presence-cache-…`): needs a signature over `channel_data`. */
  readonly presence: boolean;
  /** `private-encrypted-…`: end-to-end encrypted, relayed as it is; no client events. */
  readonly encrypted: boolean;
  /** `cache-…`, `private-cache-…`, `presence-cache-…`: the last event on subscribe. */
  readonly cache: boolean;
  /** `#server-to-user-{id}`: only the connection signed in as `id`. */
  readonly user: boolean;
}

/** Why `name` is not a Pusher channel name, or undefined when it is one. */
export function channelNameError(name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return 'channel must be a non-empty string';
  if (name.length > MAX_CHANNEL_NAME) return `channel name must be at most ${MAX_CHANNEL_NAME} characters`;
  if (name.startsWith(USER_CHANNEL_PREFIX) && name.length > USER_CHANNEL_PREFIX.length) return undefined;
  if (!CHANNEL_NAME.test(name)) return 'channel name may contain only A-Z a-z 0-9 _ - = @ , . ;';
  return undefined;
}

/** The kind of a valid channel name. */
export function channelKind(name: string): PusherChannelKind {
  const presence = name.startsWith('presence-');
  return {
    private: name.startsWith('private-'),
    presence,
    encrypted: name.startsWith('private-encrypted-'),
    cache: name.startsWith('cache-') || name.startsWith('private-cache-') || name.startsWith('presence-cache-'),
    user: name.startsWith(USER_CHANNEL_PREFIX),
  };
}
