import type { WebhookEvent } from '@herald/protocol';
import type { WebhookConditionClaim, WebhookHold } from './webhook-condition.js';

/** A webhook event before the sink gives it its id (and, unless set, its time). */
export type WebhookEventInput = WebhookEvent extends infer E
  ? E extends WebhookEvent
    ? Omit<E, 'id' | 'time'> & { readonly time?: number }
    : never
  : never;

/**
 * Where the hub's event sources (presence, channels, client publishes, closed connections) put
 * webhook events. The sink gives each a unique id, stores it durably in the engine's queue and a
 * dispatcher delivers it at least once (see `docs/hooks.md`). `emit` never throws: it resolves
 * once the event is stored, and logs (and counts) a failure to store.
 */
export interface WebhookSink {
  /**
   * `hold` (only to a sink with {@link setConditionClaim}): send it `hold.delay` ms after its time
   * at the earliest, and only if its `condition` is claimed then (with the claim given to
   * {@link setConditionClaim}). A sink without `setConditionClaim` is never given a hold: the hub
   * keeps held leaves and vacates itself and emits them (no hold) once due and still standing.
   */
  emit(event: WebhookEventInput, hold?: WebhookHold): Promise<void>;
  /**
   * The presence store's marker claim, which decides conditional events (set by the hub, once).
   * Optional: implement it only to store held events durably yourself (see {@link emit}).
   */
  setConditionClaim?(claim: WebhookConditionClaim): void;
  /** Whether events of this type are wanted (configured); sources skip work for the others. */
  wants(type: WebhookEvent['type']): boolean;
}
