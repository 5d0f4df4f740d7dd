import { randomBytes } from 'node:crypto';
import { createClient, type ClientState, type Envelope, type Gap, type HeraldClient, type TransportName } from '@herald/client/node';
import {
  Collector,
  startHeraldNode,
  startNginx,
  startRedisServer,
  type HeraldNode,
  type TestNginx,
  type TestRedisServer,
} from '@herald/testkit';
import { EventSource } from 'eventsource';
import WebSocket from 'ws';

/** Several hub processes (the built CLI) on one test-owned redis-server, optionally behind nginx. */
export interface Cluster {
  readonly redis: TestRedisServer;
  readonly nodes: readonly HeraldNode[];
  /** Round-robin over every node, no stickiness (present when asked for). */
  readonly nginx: TestNginx | undefined;
  /** Stops nginx, every node still running and Redis; throws once everything is stopped if any step failed. */
  close(): Promise<void>;
}

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** @default 3 */
  readonly nodes?: number;
  /** Put nginx (WebSocket upgrades forwarded, no buffering) in front of the nodes. @default false */
  readonly nginx?: boolean;
  /** More `herald start` arguments for every node. */
  readonly args?: readonly string[];
}

/** Starts `nodes` hubs on a fresh redis-server (and nginx over them); on a failure, stops what started. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const redis = await startRedisServer();
  const nodes: HeraldNode[] = [];
  let nginx: TestNginx | undefined;
  const close = async (): Promise<void> => {
    try {
      // Every step runs even when another fails. A node gets SIGTERM, then SIGKILL after 3 s: one
      // that hangs in shutdown does not hang the suite.
      const results = await Promise.allSettled([nginx?.close(), ...nodes.map((node) => node.stop(3000))]);
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      if (failures.length > 0) throw new AggregateError(failures, 'cluster cleanup failed');
    } finally {
      await redis.close();
    }
  };
  try {
    const started = await Promise.allSettled(
      Array.from({ length: options.nodes ?? 3 }, () => startHeraldNode({ engine: redis.url, args: options.args ?? [] })),
    );
    for (const result of started) if (result.status === 'fulfilled') nodes.push(result.value);
    const failed = started.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    if (options.nginx === true) nginx = await startNginx({ upstreamPorts: nodes.map((n) => n.port), upgrade: true, buffering: false });
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  return { redis, nodes, nginx, close };
}

/** A channel name no other test uses. */
export function uniqueChannel(name: string): string {
  return `${name}-${randomBytes(4).toString('hex')}`;
}

/** A publish the hub acknowledged: where the message was stored, and what it carried. */
export interface Ack<T = unknown> {
  readonly epoch: string;
  readonly offset: number;
  readonly data: T;
}

/** The answer of a node that refused a publish before storing anything because it is shutting down. */
const SHUTDOWN_REFUSAL = JSON.stringify({ error: { code: 3001, message: 'the hub is shutting down' } });

/**
 * Whether a publish answered this way may be published again while a node drains: a 503 "the hub
 * is shutting down" (Herald refused it before storing anything), or nginx's 502 for a request the
 * draining node's kernel reset (it was still in the accept queue when the listener closed, so the
 * hub never read it; nginx does not pass a POST on to another node once sent). Should a hub ever
 * store a publish and then answer neither, the retry stores it twice and the ledger check fails.
 */
function refusedWhileDraining(status: number, text: string): boolean {
  return (status === 503 && text === SHUTDOWN_REFUSAL) || (status === 502 && text.includes('<title>502 Bad Gateway</title>'));
}

/**
 * `POST /api/publish`; rejects unless the hub answers 200 with the stored position. With
 * `retryDraining`, a publish {@link refusedWhileDraining} is published again (up to 10 tries), as a
 * publisher behind a load balancer does during a rolling restart. Any other answer rejects: it
 * would leave the ledger unknown.
 */
export async function publishTo<T>(url: string, channel: string, data: T, retryDraining = false): Promise<Ack<T>> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${url}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel, data }),
    });
    const text = await res.text();
    if (retryDraining && attempt < 10 && refusedWhileDraining(res.status, text)) continue;
    if (res.status !== 200) throw new Error(`publish to ${url} answered ${res.status}: ${text}`);
    const body = JSON.parse(text) as { channel: string; epoch: string; offset: number };
    if (body.channel !== channel) throw new Error(`publish to ${url} answered for channel ${body.channel}`);
    return { epoch: body.epoch, offset: body.offset, data };
  }
}

/** `GET /api/messages?…` on one node; the raw body too, to compare answers byte for byte. */
export async function getMessages(
  url: string,
  query: Record<string, string>,
): Promise<{ status: number; text: string; body: { messages: Envelope[]; cursor: string; gaps?: Gap[]; more?: true } }> {
  const res = await fetch(`${url}/api/messages?${new URLSearchParams(query).toString()}`);
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) };
}

/**
 * What is wrong with a ledger, as short readable lines (none when it is right): `received` must be
 * exactly the acknowledged messages, each once, in offset order, with the data each was published with.
 */
export function ledgerProblems(received: readonly Pick<Envelope, 'offset' | 'epoch' | 'data'>[], acks: readonly Ack[]): string[] {
  const expected = [...acks].sort((a, b) => a.offset - b.offset);
  const problems: string[] = [];
  if (received.length !== expected.length) problems.push(`received ${received.length} messages, expected ${expected.length}`);
  const seen = new Set<number>();
  let duplicates = 0;
  for (const message of received) {
    if (seen.has(message.offset)) duplicates++;
    seen.add(message.offset);
  }
  if (duplicates > 0) problems.push(`${duplicates} duplicate offsets`);
  const missing = expected.filter((a) => !seen.has(a.offset));
  const firstMissing = missing.slice(0, 5).map((a) => a.offset);
  if (missing.length > 0) problems.push(`${missing.length} offsets missing, first ${firstMissing.join(', ')}`);
  const length = Math.min(received.length, expected.length);
  for (let i = 0; i < length; i++) {
    const got = received[i]!;
    const want = expected[i]!;
    if (got.offset !== want.offset || got.epoch !== want.epoch || JSON.stringify(got.data) !== JSON.stringify(want.data)) {
      problems.push(
        `at index ${i}: got offset ${got.offset} ${JSON.stringify(got.data)}, expected offset ${want.offset} ${JSON.stringify(want.data)}`,
      );
      break;
    }
  }
  return problems;
}

/** Checks that acknowledged offsets are exactly 1..n in one epoch (the log has no holes). */
export function acksProblems(acks: readonly Ack[], n: number): string[] {
  const offsets = acks.map((a) => a.offset).sort((a, b) => a - b);
  const problems: string[] = [];
  if (offsets.length !== n || offsets.some((offset, i) => offset !== i + 1)) problems.push(`acknowledged offsets are not exactly 1..${n}`);
  const epochs = new Set(acks.map((a) => a.epoch));
  if (epochs.size !== 1) problems.push(`acknowledged in ${epochs.size} epochs`);
  return problems;
}

/** Options of {@link publishPaced}. */
export interface PacedOptions {
  readonly channel: string;
  readonly count: number;
  /** Publishes in flight at once; the next batch starts when the previous one is acknowledged. */
  readonly batch: number;
  /** Node (or proxy) URLs for batch number `b` (0-based); the batch's publishes take them in turn. */
  readonly targets: (b: number) => readonly string[];
  /** Called after every acknowledgement with how many are acknowledged so far (others may be in flight). */
  readonly onAck?: (acknowledged: number) => void;
  /** Publish again what a draining node refused (see {@link publishTo}). @default false */
  readonly retryDraining?: boolean;
}

/** Publishes `{n}` for n = 0..count-1 in batches spread over the targets; resolves with every ack. */
export async function publishPaced(options: PacedOptions): Promise<Ack<{ n: number }>[]> {
  const acks: Ack<{ n: number }>[] = [];
  for (let start = 0, b = 0; start < options.count; start += options.batch, b++) {
    const targets = options.targets(b);
    const size = Math.min(options.batch, options.count - start);
    await Promise.all(
      Array.from({ length: size }, async (_, i) => {
        acks.push(await publishTo(targets[i % targets.length]!, options.channel, { n: start + i }, options.retryDraining));
        options.onAck?.(acks.length);
      }),
    );
  }
  return acks;
}

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
 * Creates a client forced to one transport, subscribes to `channel`, and resolves once the hub
 * confirmed the subscription. Reconnects quickly (50–400 ms) so a failover test stays short.
 */
/**
 * An SDK client of one transport subscribed to `channel` through `url`. With `since` (a cursor) it
 * resumes from there instead of pinning its start with a request of its own: tests that count on
 * nginx's round robin placing each client's connection on a given node need the client to send that
 * connection alone.
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
    const timer = setTimeout(
      () => reject(new Error(`${transport} client did not subscribe within 10 s (states ${probe.states.join(',')})`)),
      10_000,
    );
    sub.on('state', (state) => {
      if (state !== 'subscribed') return;
      clearTimeout(timer);
      resolve();
    });
  });
  return probe;
}
