/**
 * A queued webhook event's delivery condition: a pending presence marker (see
 * `PresenceStore.removeCounting`). Before sending the event, a dispatcher claims the marker; the
 * event goes out only if the claim succeeds. The marker is gone when the user (or, for a
 * `channel_vacated`, anyone) came back within the debounce: the event is then acknowledged unsent.
 */
export interface WebhookCondition {
  readonly channel: string;
  /** The user's key (a `presence_leave`), or absent for the channel's marker (a `channel_vacated`). */
  readonly userKey?: string;
  /** The token the marker must still hold. */
  readonly token: string;
}

/**
 * Claims a condition's marker, atomically across the nodes sharing the presence store; resolves
 * whether the event stands. `holdMs`: how long a repeated claim of the same token must still
 * succeed (a node that claimed it and died before recording the attempt; the next holder of the
 * event's lease claims it again).
 */
export type WebhookConditionClaim = (condition: WebhookCondition, holdMs: number) => Promise<boolean>;

/** How `WebhookSink.emit` holds an event back: sent `delay` ms after its time at the earliest, if `condition` stands then. */
export interface WebhookHold {
  readonly delay: number;
  readonly condition?: WebhookCondition;
}

/** How `WebhookQueue.add` stores one event besides the event itself. */
export interface WebhookDelivery {
  /** When the event may be sent (ms since the Unix epoch). @default the event's `time` */
  readonly due?: number;
  readonly condition?: WebhookCondition;
}

/** Whether `value` is a well-formed {@link WebhookCondition} (stored conditions are read back with it). */
export function isWebhookCondition(value: unknown): value is WebhookCondition {
  if (typeof value !== 'object' || value === null) return false;
  const { channel, userKey, token } = value as Record<string, unknown>;
  return typeof channel === 'string' && typeof token === 'string' && (userKey === undefined || typeof userKey === 'string');
}
