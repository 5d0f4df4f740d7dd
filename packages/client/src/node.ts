import { EventSource } from 'eventsource';
import WebSocket from 'ws';
import { HeraldClient, type ClientOptions } from './client.js';
import type { ChannelMap } from './types.js';

export * from './index.js';

/**
 * {@link createClient} for Node.js 20, which has neither `WebSocket` nor `EventSource` as globals:
 * wires `ws` and `eventsource` unless the options bring their own.
 */
export function createClient<M extends object = ChannelMap>(options: ClientOptions): HeraldClient<M> {
  return new HeraldClient<M>({ WebSocket, EventSource, ...options });
}
