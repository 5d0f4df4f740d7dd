import type { WebhookEvent, WebhookEventType } from '@herald/protocol';
import { readEvent } from '../doors/door-event.js';
import { unescapeName } from '../doors/escaped-channel.js';
import type { WebhookEventInput } from '../webhooks/webhook-sink.js';
import type { PusherWebhookEventName } from './pusher-options.js';

/** Every Pusher webhook event, in Pusher's order. */
export const PUSHER_WEBHOOK_EVENTS = [
  'channel_occupied',
  'channel_vacated',
  'member_added',
  'member_removed',
  'client_event',
] as const satisfies readonly PusherWebhookEventName[];

/** The hub's webhook event each Pusher event comes from. */
export const HUB_EVENT_OF: Readonly<Record<PusherWebhookEventName, WebhookEventType>> = {
  channel_occupied: 'channel_occupied',
  channel_vacated: 'channel_vacated',
  member_added: 'presence_join',
  member_removed: 'presence_leave',
  client_event: 'client_publish',
};

/** One event of a Pusher webhook body (`{"time_ms", "events": [...]}`), as Pusher sends it. */
export type PusherWebhookEvent =
  | { readonly name: 'channel_occupied' | 'channel_vacated'; readonly channel: string }
  | { readonly name: 'member_added' | 'member_removed'; readonly channel: string; readonly user_id: string }
  | {
      readonly name: 'client_event';
      readonly channel: string;
      readonly event: string;
      readonly data: string;
      readonly socket_id: string;
      readonly user_id?: string;
    };

/** The Pusher channel of Herald channel `channel` when it is in the namespace `prefix` (`{app id}:`), else undefined. */
export function pusherChannelOf(channel: string, prefix: string): string | undefined {
  return channel.startsWith(prefix) ? unescapeName(channel.slice(prefix.length)) : undefined;
}

/**
 * Whether the hub's webhook event is one of app `prefix`'s Pusher events: a channel event of one
 * of its channels, a presence event of one of its `presence-` channels, a client publish of a
 * `client-*` event (`{event, data}` data) on one of its channels. Connection events are not.
 */
export function isPusherEvent(event: WebhookEventInput | WebhookEvent, prefix: string): boolean {
  if (event.type === 'connection_closed') return false;
  const channel = pusherChannelOf(event.channel, prefix);
  if (channel === undefined) return false;
  switch (event.type) {
    case 'presence_join':
    case 'presence_leave':
      return channel.startsWith('presence-');
    case 'client_publish': {
      const data = event.data as { event?: unknown } | null;
      return typeof data === 'object' && data !== null && typeof data.event === 'string' && data.event.startsWith('client-');
    }
    default:
      return true;
  }
}

/**
 * The Pusher event of a hub's webhook event of app `prefix` (see {@link isPusherEvent}), or
 * undefined when it is none. A member is its user id, or its client id when anonymous (a Herald
 * client without a user); a client event's data is the text the client sent.
 */
export function toPusherEvent(event: WebhookEvent, prefix: string): PusherWebhookEvent | undefined {
  if (!isPusherEvent(event, prefix) || event.type === 'connection_closed') return undefined;
  const channel = pusherChannelOf(event.channel, prefix)!;
  switch (event.type) {
    case 'channel_occupied':
    case 'channel_vacated':
      return { name: event.type, channel };
    case 'presence_join':
    case 'presence_leave':
      return { name: event.type === 'presence_join' ? 'member_added' : 'member_removed', channel, user_id: event.user ?? event.client };
    case 'client_publish': {
      const { event: name, text } = readEvent(JSON.stringify(event.data));
      return {
        name: 'client_event',
        channel,
        event: name,
        data: text,
        socket_id: event.client,
        ...(event.user !== null && { user_id: event.user }),
      };
    }
  }
}

/** A Pusher webhook body: `{"time_ms": now, "events": [...]}` of the events that are Pusher events of app `prefix`. */
export function pusherWebhookBody(events: readonly WebhookEvent[], prefix: string, now: number): string {
  const mapped = events.map((event) => toPusherEvent(event, prefix)).filter((e) => e !== undefined);
  return JSON.stringify({ time_ms: now, events: mapped });
}
