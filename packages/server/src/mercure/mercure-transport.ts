import type { ServerResponse } from 'node:http';
import type { Clock } from '../clock.js';
import type { Hub, SubscribeOutcome } from '../hub/hub.js';
import type { Logger } from '../logger.js';
import { ExpiryTimer } from '../transport/expiry-timer.js';
import { SSE_HEARTBEAT } from '../transport/sse-stream.js';
import { matchesConnection, type ConnectionInfo, type ConnectionMatch, type Transport } from '../transport/transport.js';
import { MercureStream, type MercureStreamOwner, type MercureStreamSetup } from './mercure-stream.js';
import type { Position } from '@herald/protocol';

/** Options of {@link MercureTransport}. */
export interface MercureTransportOptions {
  readonly sendQueueBytes: number;
  /** Milliseconds between heartbeat comments. */
  readonly heartbeatInterval: number;
  /** The `retry:` hint sent when the node shuts down, in milliseconds. */
  readonly retry: number;
  readonly onSlowConsumer?: () => void;
  /** Told when a stream opened (its subscriptions started) and when it closed: subscription events. */
  readonly opened?: (stream: MercureStream) => void;
  readonly ended?: (stream: MercureStream) => void;
}

/**
 * The Mercure door's subscribers (transport `mercure`): SSE streams at `GET /.well-known/mercure`,
 * each with a bounded send queue (a slow consumer is cut, and resumes with `Last-Event-ID`),
 * heartbeat comments, and an end at its JWT's `exp`.
 */
export class MercureTransport implements Transport, MercureStreamOwner {
  readonly name = 'mercure';
  readonly #hub: Hub;
  readonly #options: MercureTransportOptions;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #streams = new Set<MercureStream>();
  readonly #heartbeat: NodeJS.Timeout;

  constructor(hub: Hub, options: MercureTransportOptions, logger: Logger, clock: Clock) {
    this.#hub = hub;
    this.#options = options;
    this.#logger = logger;
    this.#clock = clock;
    this.#heartbeat = setInterval(() => {
      for (const stream of this.#streams) stream.write(SSE_HEARTBEAT);
    }, options.heartbeatInterval);
    this.#heartbeat.unref();
  }

  get size(): number {
    return this.#streams.size;
  }

  /**
   * Subscribes a stream to `channels`, each from its point in `since` (undefined: from now), and
   * answers 200 with `headers`. Rejects (nothing written) when the hub refuses a subscription.
   */
  async open(
    res: ServerResponse,
    setup: MercureStreamSetup,
    channels: readonly string[],
    since: ReadonlyMap<string, Position | undefined>,
    headers: Record<string, string>,
    expiresAt: number | undefined,
  ): Promise<MercureStream | undefined> {
    const stream = new MercureStream(res, setup, this.#options.sendQueueBytes, this);
    const outcomes: SubscribeOutcome[] = [];
    try {
      for (const channel of channels) {
        const outcome = await this.#hub.subscribe(stream, channel, { since: since.get(channel) });
        outcomes.push(outcome);
        stream.subscriptions.push(outcome.subscription);
        stream.positions.set(channel, outcome.position);
        if (res.destroyed) {
          this.closed(stream);
          return undefined;
        }
      }
    } catch (error) {
      this.closed(stream);
      throw error;
    }
    // A resume that met a gap did not start after the event it named: say where it did start.
    const gapped = [...since].some(([channel, from]) => {
      const start = stream.positions.get(channel);
      return from !== undefined && start !== undefined && (start.epoch !== from.epoch || start.offset !== from.offset);
    });
    if (gapped && headers['Last-Event-ID'] !== undefined) headers = { ...headers, 'Last-Event-ID': stream.cursor };
    const response: Record<string, string> = {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
      ...headers,
    };
    res.writeHead(200, response);
    // An id-only block (with the reconnection delay): EventSource takes the id, so a reconnect
    // before the first update resumes from here, and dispatches no event.
    stream.write(Buffer.from(`retry: ${this.#options.retry}\nid: ${stream.cursor}\n\n`));
    if (setup.unknownResume === true) stream.unknownResume();
    this.#streams.add(stream);
    for (const outcome of outcomes) outcome.start();
    this.#options.opened?.(stream);
    if (expiresAt !== undefined) {
      // In steps of at most 2³¹ − 1 ms: a longer setTimeout would end the stream after 1 ms.
      const timer = new ExpiryTimer(this.#clock, expiresAt, () => stream.end());
      res.once('close', () => timer.cancel());
    }
    return stream;
  }

  /** @internal */
  closed(stream: MercureStream): void {
    for (const subscription of stream.subscriptions) this.#hub.unsubscribe(subscription);
    if (this.#streams.delete(stream)) this.#options.ended?.(stream);
  }

  /** @internal */
  slowConsumer(stream: MercureStream): void {
    this.#logger.warn({ client: stream.client }, 'slow Mercure subscriber disconnected');
    this.#options.onSlowConsumer?.();
  }

  disconnect(match: ConnectionMatch): number {
    let count = 0;
    for (const stream of this.#streams) {
      if (matchesConnection(match, stream.user, stream.client)) {
        stream.end();
        count++;
      }
    }
    return count;
  }

  list(): ConnectionInfo[] {
    return [...this.#streams].map((stream) => stream.describe());
  }

  drain(): void {}

  /** Ends every stream with a `retry` hint; EventSource reconnects (to another node) and resumes with its `Last-Event-ID`. */
  close(): void {
    clearInterval(this.#heartbeat);
    const hint = Buffer.from(`retry: ${this.#options.retry}\n\n`);
    for (const stream of [...this.#streams]) {
      this.closed(stream);
      stream.end(hint);
    }
  }

  dropAll(): void {
    for (const stream of this.#streams) stream.response.destroy();
  }
}
