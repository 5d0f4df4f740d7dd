import { EventSource } from 'eventsource';
import WebSocket from 'ws';
import { HeraldClient, type ClientOptions } from './client.js';
import type { ChannelMap } from './types.js';

export * from './index.js';

/** `ws` without permessage-deflate: the offer is made only when `compression` asks for it. */
class PlainWebSocket extends WebSocket {
  constructor(url: string | URL, protocols?: string | string[]) {
    super(url, protocols, { perMessageDeflate: false });
  }
}

/**
 * `ws` offering permessage-deflate as the hub takes it: no context takeover either way (the hub
 * compresses each message once for every subscriber), commands under 256 bytes sent plain.
 */
class DeflateWebSocket extends WebSocket {
  constructor(url: string | URL, protocols?: string | string[]) {
    super(url, protocols, { perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: 256 } });
  }
}

/**
 * {@link createClient} for Node.js 20, which has neither `WebSocket` nor `EventSource` as globals:
 * wires `ws` and `eventsource` unless the options bring their own. `compression: true` makes `ws`
 * offer permessage-deflate.
 */
export function createClient<M extends object = ChannelMap>(options: ClientOptions): HeraldClient<M> {
  return new HeraldClient<M>({ WebSocket: options.compression === true ? DeflateWebSocket : PlainWebSocket, EventSource, ...options });
}
