import { EventSource, type EventSourceInit } from 'eventsource';
import WebSocket from 'ws';

/** The header that carries an API key (the hub's `API_KEY_HEADER`). */
const API_KEY_HEADER = 'x-herald-key';

/** A WebSocket, an EventSource and a `fetch` for the client SDK that present an API key on every request. */
export interface ApiKeyTransports {
  readonly WebSocket: new (address: string | URL, protocols?: string | string[]) => WebSocket;
  readonly EventSource: new (url: string | URL, init?: EventSourceInit) => EventSource;
  readonly fetch: typeof fetch;
}

/**
 * Implementations for `createClient` that send `X-Herald-Key: key` with the WebSocket upgrade, the
 * SSE request and every HTTP call (polling, pins, history). The SDK itself carries tokens only, as a
 * browser must never hold an API key; a CLI on the backend's side may.
 */
export function apiKeyTransports(key: string): ApiKeyTransports {
  const keyedFetch: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set(API_KEY_HEADER, key);
    return fetch(input, { ...init, headers });
  };
  class KeyedWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { headers: { [API_KEY_HEADER]: key } });
    }
  }
  class KeyedEventSource extends EventSource {
    constructor(url: string | URL, init?: EventSourceInit) {
      super(url, { ...init, fetch: keyedFetch });
    }
  }
  return { WebSocket: KeyedWebSocket, EventSource: KeyedEventSource, fetch: keyedFetch };
}
