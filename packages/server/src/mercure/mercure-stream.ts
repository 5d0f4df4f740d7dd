import type { ServerResponse } from 'node:http';
import { encodeCursor, type Gap, type Position } from '@herald/protocol';
import { unescapeName } from '../doors/escaped-channel.js';
import type { HubMessage } from '../hub/hub-message.js';
import type { Subscriber } from '../hub/subscriber.js';
import type { Subscription } from '../hub/subscription.js';
import { Outbox, type OutboxOwner } from '../transport/outbox.js';
import type { ConnectionInfo } from '../transport/transport.js';
import { decodedUpdate, UPDATES_CHANNEL, type DecodedUpdate } from './mercure-update.js';
import { matchesSome, type TopicSelector } from './topic-selector.js';

/** What a stream reports to its transport. */
export interface MercureStreamOwner {
  slowConsumer(stream: MercureStream): void;
  closed(stream: MercureStream): void;
}

/** Who is subscribing, and to what. */
export interface MercureStreamSetup {
  readonly client: string;
  /** The subscriber's IRI in subscription events (`urn:uuid:…`). */
  readonly subscriber: string;
  /** The JWT's `sub`, or null. */
  readonly user: string | null;
  readonly selectors: readonly TopicSelector[];
  /** `mercure.subscribe` of the subscriber's JWT; `undefined` when anonymous (public updates only). */
  readonly allowed: readonly TopicSelector[] | undefined;
  /** The channels whose messages not posted through the Mercure door are public (Herald's permissions let anyone subscribe them). */
  readonly publicChannels: ReadonlySet<string>;
  readonly payload: unknown;
  readonly since: number;
  /**
   * The stream resumes from an id the hub could not find while `~mercure` has dropped updates: it
   * opens with a named `gap` event (`reason` `unknown`), since the id may be one it dropped.
   */
  readonly unknownResume?: boolean;
}

/**
 * One Mercure subscriber's SSE stream. It reads {@link UPDATES_CHANNEL} (every update posted through
 * the door, in posting order: each reaches the stream once, whatever how many of its selectors and
 * topics match) and the channel of each exact topic, from which it takes only the messages not
 * posted through the door (Herald API, Pusher). Each event's `id` is the update's own id, the same
 * for every subscriber.
 */
export class MercureStream implements Subscriber, OutboxOwner {
  readonly client: string;
  readonly user: string | null;
  readonly setup: MercureStreamSetup;
  readonly positions = new Map<string, Position>();
  subscriptions: Subscription[] = [];
  readonly #outbox: Outbox;
  readonly #res: ServerResponse;
  readonly #owner: MercureStreamOwner;
  #closed = false;

  constructor(res: ServerResponse, setup: MercureStreamSetup, sendQueueBytes: number, owner: MercureStreamOwner) {
    this.client = setup.client;
    this.user = setup.user;
    this.setup = setup;
    this.#res = res;
    this.#owner = owner;
    this.#outbox = new Outbox(res, sendQueueBytes, this);
    res.once('close', () => {
      if (this.#closed) return;
      this.#closed = true;
      this.#outbox.close();
      owner.closed(this);
    });
  }

  /** `#` and the Herald cursor over every channel of the stream: where it stands (not an event's id). */
  get cursor(): string {
    return `#${encodeCursor(this.positions)}`;
  }

  get response(): ServerResponse {
    return this.#res;
  }

  overflow(): void {
    this.#owner.slowConsumer(this);
    this.#res.destroy();
  }

  write(chunk: Buffer): void {
    this.#outbox.push(chunk);
  }

  /** Flushes what is queued and ends the response. */
  end(chunk?: Buffer): void {
    if (chunk !== undefined) this.#outbox.push(chunk);
    this.#outbox.flush();
    this.#outbox.close();
    this.#res.end();
  }

  describe(): ConnectionInfo {
    return {
      id: this.client,
      transport: 'mercure',
      user: this.user,
      ip: this.#res.socket?.remoteAddress ?? null,
      channels: this.subscriptions.map((s) => s.channel),
      since: this.setup.since,
    };
  }

  message(message: HubMessage, replay: boolean): void {
    this.positions.set(message.channel, { epoch: message.epoch, offset: message.offset });
    const update = decodedUpdate(message);
    if (this.#wants(message.channel, update)) this.#outbox.push(update.chunk, replay);
  }

  /** Whether the message is for this stream, and the stream may receive it. */
  #wants(channel: string, update: DecodedUpdate): boolean {
    const { selectors, allowed } = this.setup;
    if (channel === UPDATES_CHANNEL) {
      if (!matchesSome(selectors, update.topics, update.matches)) return false;
    } else if (update.posted) {
      // Also on the updates channel, which every stream reads: delivered from there.
      return false;
    } else {
      // A Herald API or Pusher message: public when the channel is public, else for subscribers allowed its topic.
      if (this.setup.publicChannels.has(channel)) return true;
      // Its topics are the channel's one topic.
      return allowed !== undefined && matchesSome(allowed, update.topics, update.matches);
    }
    return !update.private || (allowed !== undefined && matchesSome(allowed, update.topics, update.matches));
  }

  replayRoom(): boolean {
    return this.#outbox.hasRoom;
  }

  onReplayRoom(resume: () => void): void {
    this.#outbox.whenRoom(resume);
  }

  /** A resume from outside the retention window: a named `gap` event (EventSource's `onmessage` ignores it). */
  gap(gap: Gap): void {
    this.positions.set(gap.channel, gap.resumed);
    const topic = gap.channel === UPDATES_CHANNEL ? undefined : unescapeName(gap.channel);
    const data = JSON.stringify({
      type: 'gap',
      ...(topic !== undefined && { topic }),
      reason: gap.reason,
      requested: gap.requested,
      resumed: gap.resumed,
    });
    this.#outbox.push(Buffer.from(`id: ${this.cursor}\nevent: gap\ndata: ${data}\n\n`));
  }

  /** A resume from an id the hub does not have (it may have dropped it): a named `gap` event, so no loss is silent. */
  unknownResume(): void {
    this.#outbox.push(Buffer.from(`id: ${this.cursor}\nevent: gap\ndata: {"type":"gap","reason":"unknown"}\n\n`));
  }

  presence(): void {}
}
