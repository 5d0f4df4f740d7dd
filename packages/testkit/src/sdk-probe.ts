import { createClient, type ClientState, type Envelope, type Gap, type HeraldClient, type TransportName } from '@herald/client/node';
import { EventSource } from 'eventsource';
import WebSocket from 'ws';
import { Collector } from './waiter.js';

/** One SDK client with one subscription, and everything it reported. */
export interface SdkProbe {
  readonly transport: TransportName;
  readonly client: HeraldClient;
  /** Messages delivered to the subscription's handler, in order. */
  readonly messages: Collector<Envelope>;
  readonly gaps: Gap[];
  /** `error` events of the client and of the subscription. */
  readonly errors: Error[];
  /** Every client `state` event, in order. */
  readonly states: ClientState[];
  /** Close codes of this client's WebSocket connections (websocket transport only). */
  readonly closeCodes: number[];
  /**
   * Envelopes the transport received from the hub, on every connection: WebSocket `message` frames,
   * SSE message events, messages in polling answers. The SDK drops duplicates by offset; this count
   * shows whether the hub sent any.
   */
  wireMessages(): number;
}

const MESSAGE_FRAME = Buffer.from('{"type":"message"');

/**
 * An SDK client forced to one transport, subscribed to `channel` through `url`; resolves once the
 * hub confirmed the subscription. Reconnects quickly (50–400 ms) so a failover test stays short.
 * With `since` (a cursor) it resumes from there instead of pinning its start with a request of its
 * own: tests that count on nginx's round robin placing each client's connection on a given node
 * need the client to send that connection alone.
 */
export async function startProbe(url: string, transport: TransportName, channel: string, since?: string): Promise<SdkProbe> {
  const closeCodes: number[] = [];
  let wire = 0;
  // The real implementations, watched: what reached the client before the SDK's own checks.
  const RecordingWebSocket = class extends WebSocket {
    constructor(address: string) {
      super(address);
      this.on('message', (data: Buffer) => {
        if (data.subarray(0, MESSAGE_FRAME.length).equals(MESSAGE_FRAME)) wire++;
      });
      this.on('close', (code) => closeCodes.push(code));
    }
  };
  const RecordingEventSource = class extends EventSource {
    constructor(address: string | URL) {
      super(address);
      this.addEventListener('message', () => wire++);
    }
  };
  const recordingFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const target = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (target.includes('/api/messages?') && res.ok) wire += ((await res.clone().json()) as { messages: unknown[] }).messages.length;
    return res;
  };
  const client = createClient({
    url,
    transports: [transport],
    reconnect: { minDelay: 50, maxDelay: 400 },
    timeout: 3000,
    pollWait: 5,
    WebSocket: RecordingWebSocket,
    EventSource: RecordingEventSource,
    fetch: recordingFetch,
  });
  const probe: SdkProbe = {
    transport,
    client,
    messages: new Collector(),
    gaps: [],
    errors: [],
    states: [],
    closeCodes,
    wireMessages: () => wire,
  };
  client.on('state', (state) => probe.states.push(state));
  client.on('error', (error) => probe.errors.push(error));
  const sub = client.subscribe(channel, (message) => probe.messages.push(message), since === undefined ? {} : { since });
  sub.on('gap', (gap) => probe.gaps.push(gap));
  sub.on('error', (error) => probe.errors.push(error));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.close();
      reject(new Error(`${transport} client did not subscribe within 10 s (states ${probe.states.join(',')})`));
    }, 10_000);
    sub.on('state', (state) => {
      if (state !== 'subscribed') return;
      clearTimeout(timer);
      resolve();
    });
  });
  return probe;
}
