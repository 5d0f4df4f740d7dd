import type { PublishResult } from '@herald/protocol';
import type { Transport } from './transports/transport.js';
import type { OutboxEvent } from './types.js';

/** What a client gives its outbox (see `outbox()` in `@herald/client/outbox`). */
export interface OutboxHost {
  /** The connected transport, or undefined while offline. */
  transport(): Transport | undefined;
  /** The client's current token (the outbox is keyed by the user it names). */
  token(): string | undefined;
  /** Connects if the client is idle: the outbox found publishes an earlier page left. */
  connect(): void;
  /** Reports a settled item (sent or given up), whichever page queued it. */
  report(event: OutboxEvent): void;
}

/** The outbox as its client drives it. */
export interface OutboxHandle {
  /** Queues a publish; resolves once the hub stored it, rejects when it is refused or given up. */
  publish(channel: string, data: unknown, idempotencyKey: string | undefined): Promise<PublishResult>;
  /** Sends what is queued, if connected; called on every (re)connection. */
  flush(): void;
  /** The client closed: pending promises reject with `'closed'`. */
  close(): void;
}

/** `createClient({ outbox })`: builds the client's outbox for the hub at `hub`; made by `outbox()`. */
export type OutboxPlugin = (hub: string, host: OutboxHost) => OutboxHandle;
