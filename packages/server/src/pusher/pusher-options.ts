/** The Pusher webhook events an app may ask for (Pusher's names). */
export type PusherWebhookEventName = 'channel_occupied' | 'channel_vacated' | 'member_added' | 'member_removed' | 'client_event';

/** One webhook endpoint of a Pusher app: signed with the app's key and secret (`X-Pusher-Key`, `X-Pusher-Signature`). */
export interface PusherWebhookOptions {
  /** The app's endpoint (http or https). */
  readonly url: string;
  /** The events sent to it. @default all five */
  readonly events?: readonly PusherWebhookEventName[] | undefined;
}

/**
 * One Pusher app: its clients connect to `/app/{key}`, its backend calls `/apps/{id}/…` signed with
 * its secret. Its channel `C` is the Herald channel `{id}:C` (see `docs/pusher.md`).
 */
export interface PusherAppOptions {
  /** The app id: 1–64 characters from `A–Z a–z 0–9 _ -`; unique among the apps. */
  readonly id: string;
  /** The public key clients connect with; unique among the apps. */
  readonly key: string;
  /** The secret that signs channel authorisations, sign-ins, API requests and webhooks. */
  readonly secret: string;
  /** Whether clients may send `client-*` events on private and presence channels. @default true */
  readonly clientEvents?: boolean | undefined;
  /** Client events one connection may send per second (Pusher's limit); more are refused with error 4301. @default 10 */
  readonly clientEventsPerSecond?: number | undefined;
  /** Where the app's webhooks go. @default none */
  readonly webhooks?: readonly PusherWebhookOptions[] | undefined;
}

/** The Pusher Channels protocol (version 7) door: `/app/{key}` and the HTTP API `/apps/{id}/…`. */
export interface PusherOptions {
  /** One or more apps. */
  readonly apps: readonly PusherAppOptions[];
  /** Seconds of silence after which a client pings (sent in `pusher:connection_established`). @default 120 */
  readonly activityTimeout?: number | undefined;
  /**
   * Seconds the hub waits for any frame after it sent `pusher:ping` (to a client silent for
   * `activityTimeout`) before it closes the connection with 4201. @default 30
   */
  readonly pongTimeout?: number | undefined;
  /** Seconds an HTTP API request's `auth_timestamp` may differ from the hub's clock. @default 600 */
  readonly timestampWindow?: number | undefined;
}
