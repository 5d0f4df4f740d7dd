import type { Identity } from '../auth/identity.js';
import type { CloseReason } from './close-reason.js';
import type { WebhookSink } from './webhook-sink.js';

/**
 * The `publisher` of a publish (see `PublishCallOptions.publisher`): the client, unless it is a
 * backend with the API key or an admin, whose publishes are no `client_publish` events.
 */
export function clientPublisher(identity: Identity, client: string): { client: string; user: string | null } | undefined {
  return identity.server === true || identity.admin === true ? undefined : { client, user: identity.user };
}

/**
 * Emits `connection_closed` for a WebSocket session or SSE stream of a client (a backend with the
 * API key is not reported), when the sink wants it. `code`: the WebSocket close code.
 */
export function emitConnectionClosed(
  sink: WebhookSink | undefined,
  identity: Identity,
  client: string,
  transport: 'websocket' | 'sse',
  reason: CloseReason,
  code?: number,
): void {
  if (sink === undefined || identity.server === true || !sink.wants('connection_closed')) return;
  void sink.emit({ type: 'connection_closed', client, user: identity.user, transport, reason, ...(code !== undefined && { code }) });
}
