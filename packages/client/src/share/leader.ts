import type { CursorEntry, Envelope, Gap } from '@herald/protocol';
import type { HeraldClient } from '../client.js';
import type { Subscription } from '../subscription.js';
import type { HistoryPage } from '../types.js';
import { atOrAfter, type Down, type Op, type Up, type WireError } from './messages.js';

/** A push held for a member while the leader replays what it missed (see {@link Leader}). */
type Item = { readonly t: 'msg'; readonly e: Envelope } | { readonly t: 'gap'; readonly g: Gap };

interface Member {
  readonly jl: boolean;
  /** Live pushes held while its replay runs (`undefined` when none runs). */
  queue: Item[] | undefined;
  /** The queue filled up: the replay reads on from where it got to. */
  overflow: boolean;
}

interface Channel {
  /** The one subscription of the channel on the leader's connection. */
  readonly sub: Subscription;
  /** A second one asking for joins and leaves, while a member wants them. */
  jl: Subscription | undefined;
  readonly members: Map<string, Member>;
  /** Members waiting for the subscription to be confirmed: their `sub` request id and start. */
  waiting: { readonly m: string; readonly id: number; readonly since: CursorEntry | undefined }[];
}

/** Live pushes held per member during a replay; past it the replay reads history once more. */
const QUEUE_MAX = 10_000;

/** The error as it crosses a BroadcastChannel. */
export function wire(error: unknown): WireError {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return { code: typeof code === 'number' || typeof code === 'string' ? code : 'internal', message: String(message ?? error) };
}

/**
 * The tab that holds the share's lock (or the share's SharedWorker): owns the one connection (an
 * ordinary, unshared client) and serves every member (every shared client of the origin, its own
 * tab's included) through `post` and {@link Leader.handle}: the share's BroadcastChannels, or the
 * worker's ports. One subscription per channel on the connection, whatever the number
 * of members that want it (reference-counted by member); each push is posted once with the list
 * of members it is for. A member that joins a channel from a position behind the channel's gets
 * the messages in between from history first, its live pushes held meanwhile, so it misses none.
 */
export class Leader {
  readonly id: string;
  /** Resolves when the leader steps down: the lock is released then. */
  readonly done: Promise<void>;
  readonly #name: string;
  readonly #inner: HeraldClient;
  readonly #send: (message: Down) => void;
  readonly #channels = new Map<string, Channel>();
  readonly #watched = new Set<string>();
  readonly #abort = new AbortController();
  #closed = false;
  #stepDown!: () => void;
  /** Token requests to the members (a worker has no getToken of its own), by id. */
  readonly #tokens = new Map<number, { resolve(token: string): void; reject(error: Error): void }>();
  #nextToken = 1;
  readonly #gone: ((m: string) => void) | undefined;

  /** `inner` is created by `make`, which gets a getToken that asks the members (for a worker). */
  constructor(
    id: string,
    name: string,
    make: (askToken: () => Promise<string>) => HeraldClient,
    post: (message: Down) => void,
    gone?: (m: string) => void,
  ) {
    this.id = id;
    this.#gone = gone;
    this.#name = name;
    this.#send = post;
    this.done = new Promise((resolve) => (this.#stepDown = resolve));
    const inner = (this.#inner = make(
      () =>
        new Promise<string>((resolve, reject) => {
          const id = this.#nextToken++;
          this.#tokens.set(id, { resolve, reject });
          this.#post({ t: 'tok', id });
        }),
    ));
    inner.on('state', () => this.#state());
    inner.on('transport', () => this.#state());
    // The connection stopped for good (refused credentials, maxAttempts): every member stops with it.
    inner.on('error', (error) => inner.state === 'closed' && this.#state(wire(error)));
    this.#post({ t: 'leader', l: id, s: inner.state, tr: inner.transport });
    inner.connect();
  }

  /** The connection stopped for good (its error went to every member). */
  get stopped(): boolean {
    return this.#inner.state === 'closed';
  }

  /** Steps down: closes the connection and lets the next tab in the lock's queue take over. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    this.#inner.close();
    this.#stepDown();
  }

  #post(message: Down): void {
    if (!this.#closed) this.#send(message);
  }

  #state(err?: WireError): void {
    this.#post({ t: 'state', l: this.id, s: this.#inner.state, tr: this.#inner.transport, ...(err !== undefined && { err }) });
  }

  /** A message from a member. */
  handle(message: Up): void {
    if (this.#closed || typeof message !== 'object' || message === null) return;
    this.#watch(message.m);
    switch (message.t) {
      case 'tok': {
        // The first member to answer gives the token; the others' answers find nothing.
        const waiting = this.#tokens.get(message.id);
        this.#tokens.delete(message.id);
        if (message.token !== undefined) waiting?.resolve(message.token);
        else waiting?.reject(new Error(message.err ?? 'no token'));
        return;
      }
      case 'hello':
        return this.#post({ t: 'leader', l: this.id, s: this.#inner.state, tr: this.#inner.transport });
      case 'sub':
        return this.#subscribe(message.m, message.id, message.ch, message.since, message.jl);
      case 'unsub':
        return this.#unsubscribe(message.m, message.ch);
      case 'req':
        return void this.#request(message.m, message.id, message.op, message.args);
      case 'bye':
        return this.#bye(message.m);
    }
  }

  /**
   * A member holds a lock named after it while it lives: the leader queues for it, and gets it when
   * the member's tab closes or crashes without a word, then releases what it held.
   */
  #watch(m: string): void {
    if (typeof m !== 'string' || this.#watched.has(m)) return;
    this.#watched.add(m);
    navigator.locks
      .request(`${this.#name}:m:${m}`, { signal: this.#abort.signal }, () => {
        this.#watched.delete(m);
        this.#bye(m);
        this.#gone?.(m);
      })
      .catch(() => undefined);
  }

  #bye(m: string): void {
    for (const channel of [...this.#channels.keys()]) this.#unsubscribe(m, channel);
  }

  #subscribe(m: string, id: number, ch: string, since: CursorEntry | undefined, jl: boolean): void {
    let channel = this.#channels.get(ch);
    const fresh = channel === undefined;
    if (channel === undefined) {
      const sub = this.#inner.subscribe(ch, undefined, since === undefined ? {} : { since });
      const created: Channel = { sub, jl: undefined, members: new Map(), waiting: [] };
      channel = created;
      this.#channels.set(ch, created);
      sub.on('message', (e) => this.#push(created, { t: 'msg', e }));
      sub.on('gap', (g) => this.#push(created, { t: 'gap', g }));
      sub.on('error', (error) => this.#refused(ch, created, error));
      sub.on('state', (state) => {
        if (state !== 'subscribed') return;
        for (const w of created.waiting.splice(0)) this.#post({ t: 'res', m: w.m, id: w.id, ok: w.since ?? sub.position });
      });
    }
    const member: Member = { jl, queue: undefined, overflow: false };
    channel.members.set(m, member);
    if (jl && channel.jl === undefined) {
      const target = channel;
      target.jl = this.#inner.subscribe(ch, undefined, { joinLeave: true });
      target.jl.on('presence', (c) => {
        const to = [...target.members].filter(([, x]) => x.jl).map(([key]) => key);
        if (to.length > 0) this.#post({ t: 'pres', to, c });
      });
    }
    // Behind the channel (or the channel's own start is not known yet): replay the difference.
    if (!fresh && since !== undefined && !atOrAfter(since, channel.sub.position)) void this.#replay(ch, channel, m, member, since);
    if (channel.sub.state === 'subscribed') this.#post({ t: 'res', m, id, ok: since ?? channel.sub.position });
    else channel.waiting.push({ m, id, since });
  }

  #unsubscribe(m: string, ch: string): void {
    const channel = this.#channels.get(ch);
    if (channel === undefined || !channel.members.delete(m)) return;
    channel.waiting = channel.waiting.filter((w) => w.m !== m);
    if (channel.jl !== undefined && ![...channel.members.values()].some((x) => x.jl)) {
      channel.jl.unsubscribe();
      channel.jl = undefined;
    }
    if (channel.members.size > 0) return;
    this.#channels.delete(ch);
    channel.sub.unsubscribe();
  }

  #push(channel: Channel, item: Item): void {
    const to: string[] = [];
    for (const [m, member] of channel.members) {
      if (member.queue === undefined) to.push(m);
      else if (member.queue.length < QUEUE_MAX) member.queue.push(item);
      else member.overflow = true;
    }
    if (to.length > 0) this.#post({ ...item, to });
  }

  /** Sends `m` the channel's history after `since`, then what arrived live meanwhile (the member drops repeats by offset). */
  async #replay(ch: string, channel: Channel, m: string, member: Member, since: CursorEntry): Promise<void> {
    member.queue = [];
    // Everything after this position is held in the queue.
    const start = channel.sub.position;
    let from: string | CursorEntry = since;
    try {
      for (;;) {
        const page: HistoryPage<unknown> = await this.#inner.history(ch, { since: from });
        if (channel.members.get(m) !== member) return;
        for (const g of page.gaps ?? []) this.#post({ t: 'gap', to: [m], g });
        for (const e of page.messages) this.#post({ t: 'msg', to: [m], e });
        from = page.cursor;
        if (page.more === true) continue;
        if (!member.overflow) break;
        member.overflow = false;
        member.queue = [];
      }
    } catch {
      // The hub would not give history (a token without it): say what is missing rather than skip it.
      if (channel.members.get(m) !== member) return;
      if (start !== undefined) {
        const g: Gap = {
          channel: ch,
          reason: 'lost',
          requested: { epoch: since.epoch, offset: since.offset },
          resumed: { epoch: start.epoch, offset: start.offset },
        };
        this.#post({ t: 'gap', to: [m], g });
      }
    }
    const queue = member.queue ?? [];
    member.queue = undefined;
    for (const item of queue) this.#post({ ...item, to: [m] });
  }

  #refused(ch: string, channel: Channel, error: { code: number | string }): void {
    if (typeof error.code !== 'number' || this.#channels.get(ch) !== channel) return;
    this.#channels.delete(ch);
    channel.jl?.unsubscribe();
    const err = wire(error);
    const waiting = new Set(channel.waiting.map((w) => w.m));
    for (const w of channel.waiting) this.#post({ t: 'res', m: w.m, id: w.id, err });
    const to = [...channel.members.keys()].filter((m) => !waiting.has(m));
    if (to.length > 0) this.#post({ t: 'ref', to, ch, err });
  }

  async #request(m: string, id: number, op: Op, args: readonly unknown[]): Promise<void> {
    const inner = this.#inner;
    try {
      const [a, b, c] = args as [string, never, never];
      const ok =
        op === 'publish'
          ? await inner.publish(a, b, { idempotencyKey: c })
          : op === 'history'
            ? await inner.history(a, { ...(b !== undefined && { since: b }), ...(c !== undefined && { limit: c }) })
            : op === 'presence'
              ? await inner.presence(a)
              : await inner.rpc(a, b);
      this.#post({ t: 'res', m, id, ok });
    } catch (error) {
      this.#post({ t: 'res', m, id, err: wire(error) });
    }
  }
}
