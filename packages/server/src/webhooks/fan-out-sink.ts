import type { WebhookEvent } from '@herald/protocol';
import type { WebhookEventInput, WebhookSink } from './webhook-sink.js';

/**
 * One sink for several (Herald's own webhooks and a front door's, such as Pusher's): each event goes
 * to every sink that wants it. With one sink, that sink itself. Several sinks cannot share a
 * conditional hold (a marker is claimed once), so the fan-out has no `setConditionClaim`: the hub
 * then holds debounced leaves and vacates itself and emits them once due.
 */
export function fanOutSink(sinks: readonly (WebhookSink | undefined)[]): WebhookSink | undefined {
  const present = sinks.filter((sink): sink is WebhookSink => sink !== undefined);
  if (present.length <= 1) return present[0];
  return {
    wants: (type: WebhookEvent['type']) => present.some((sink) => sink.wants(type)),
    // No hold is ever passed (no setConditionClaim): each sink gets the event as it is.
    async emit(event: WebhookEventInput): Promise<void> {
      await Promise.all(present.filter((sink) => sink.wants(event.type)).map((sink) => sink.emit(event)));
    },
  };
}
