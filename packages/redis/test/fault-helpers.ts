import { spawn } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseCursor, type Gap, type Position } from '@herald/protocol';
import { RedisBroker, RedisPresenceStore } from '@herald/redis';
import type { HeraldServerOptions, SecurityOptions } from '@herald/server';
import { Collector, eventually, poll, startTestHub, type SseTestClient, type TestHub, type WsTestClient } from '@herald/testkit';
import { createClient } from '@redis/client';
import { expect } from 'vitest';

/** What a client saw on one channel, in arrival order: messages and gaps, whatever the transport. */
export type Delivery =
  { readonly type: 'message'; readonly epoch: string; readonly offset: number; readonly data: unknown } | ({ readonly type: 'gap' } & Gap);

/** An acknowledged publish: the ledger every subscriber is checked against. */
export interface Ack {
  readonly epoch: string;
  readonly offset: number;
  readonly data: unknown;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** {@link eventually} probing every 25 ms (the probes here are HTTP or Redis requests). */
export const waitUntil = (check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> =>
  eventually(check, what, { timeoutMs, intervalMs: 25 });

/** `GET /healthz`: status, `Retry-After` and body. */
export async function health(url: string): Promise<{ status: number; retryAfter: string | null; body: unknown }> {
  const res = await fetch(`${url}/healthz`);
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
}

/** `POST /api/publish` keeping the `Retry-After` header, which `publishHttp` drops. */
export async function publishRaw(
  url: string,
  channel: string,
  data: unknown,
): Promise<{ status: number; retryAfter: string | null; body: any }> {
  const res = await fetch(`${url}/api/publish`, { method: 'POST', body: JSON.stringify({ channel, data }) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
}

/** Options of {@link startRedisHub}. */
export interface RedisHubOptions {
  /** Where the broker connects (a {@link RedisFaultProxy} to inject faults on this node only). */
  readonly url: string;
  /** Where the presence store connects. @default `url` */
  readonly presenceUrl?: string;
  /** @default the hub's (5000 ms); 0 disables the periodic check */
  readonly positionCheckInterval?: number;
  /** Seconds. @default 30 */
  readonly memberTtl?: number;
  /** Ms the broker waits for a reply. @default 5000 */
  readonly commandTimeout?: number;
  /** Key prefix, to share the local Redis with other tests. @default "herald:" */
  readonly prefix?: string;
  readonly security?: SecurityOptions;
  /** More server options (limits, security), applied after the ones above. */
  readonly serverOptions?: HeraldServerOptions;
}

/** An in-process node on the Redis engine (default prefix, like `herald start --engine redis://…`). */
export async function startRedisHub(options: RedisHubOptions): Promise<TestHub> {
  const prefix = options.prefix ?? 'herald:';
  const broker = await RedisBroker.connect({
    url: options.url,
    prefix,
    ...(options.commandTimeout !== undefined && { commandTimeout: options.commandTimeout }),
  });
  try {
    const presence = await RedisPresenceStore.connect({
      url: options.presenceUrl ?? options.url,
      prefix,
      ...(options.memberTtl !== undefined && { memberTtl: options.memberTtl }),
    });
    return await startTestHub({
      broker,
      presence,
      ...(options.positionCheckInterval !== undefined && { positionCheckInterval: options.positionCheckInterval }),
      ...(options.security && { security: options.security }),
      ...options.serverOptions,
    });
  } catch (error) {
    await broker.close();
    throw error;
  }
}

/** A plain node-redis connection to the test-owned server, for fault injection (`CLIENT KILL`, `ACL`). */
export async function adminClient(url: string) {
  const client = createClient({ url, socket: { reconnectStrategy: false } });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** The pid of the Redis server behind `admin` (to freeze it with SIGSTOP). */
export async function redisPid(admin: Awaited<ReturnType<typeof adminClient>>): Promise<number> {
  const match = /process_id:(\d+)/.exec(await admin.INFO('server'));
  if (match === null) throw new Error('INFO server has no process_id');
  return Number(match[1]);
}

/** Connections subscribed to the pub/sub channel of `channel` (one per node listening to it). */
export async function liveSubscribers(admin: Awaited<ReturnType<typeof adminClient>>, channel: string): Promise<number> {
  const [, count] = await admin.sendCommand<[string, number]>(['PUBSUB', 'NUMSUB', `herald:live:${channel}`]);
  return count;
}

/** The WebSocket test client's message and gap pushes of `channel`. */
export function wsDeliveries(ws: WsTestClient, channel: string): Delivery[] {
  return ws.frames.items.filter((f) => (f.type === 'message' || f.type === 'gap') && f.channel === channel).map(toDelivery);
}

/** The SSE test client's message and gap events of `channel`. */
export function sseDeliveries(sse: SseTestClient, channel: string): Delivery[] {
  return sse.events.items
    .filter((e) => e.event === 'message' || e.event === 'gap')
    .map((e) => JSON.parse(e.data))
    .filter((f) => f.channel === channel)
    .map(toDelivery);
}

/** A wire message or gap (envelope, WebSocket frame, SSE data, polling item) as a {@link Delivery}. */
export function toDelivery(frame: any): Delivery {
  if (frame.type === 'gap')
    return { type: 'gap', channel: frame.channel, reason: frame.reason, requested: frame.requested, resumed: frame.resumed };
  return { type: 'message', epoch: frame.epoch, offset: frame.offset, data: frame.data };
}

/** The position of the first channel of an SSE stream's `ready` cursor. */
export function readyPosition(sse: SseTestClient, channel: string): Position {
  const parsed = parseCursor(sse.readyEvent?.cursor);
  if (!parsed.ok) throw new Error(`no ready cursor: ${JSON.stringify(sse.readyEvent)}`);
  const position = parsed.value.get(channel);
  if (position === undefined) throw new Error(`the ready cursor does not cover ${channel}`);
  return position;
}

/** The last message position in `deliveries`, if any. */
export function lastOffset(deliveries: readonly Delivery[]): number {
  for (let i = deliveries.length - 1; i >= 0; i--) {
    const d = deliveries[i]!;
    if (d.type === 'message') return d.offset;
  }
  return 0;
}

/**
 * Checks the exact delivery contract from `start`: each message is the next offset of the current
 * epoch, unless a gap came right before it whose `requested` is where the client stood and whose
 * `resumed` is just before that message. Returns the messages and gaps, in order.
 */
export function checkNoSilentHole(deliveries: readonly Delivery[], start: Position, who: string): { messages: Ack[]; gaps: Gap[] } {
  let at = start;
  const messages: Ack[] = [];
  const gaps: Gap[] = [];
  let gapJustBefore = false;
  deliveries.forEach((d, i) => {
    if (d.type === 'gap') {
      const gap: Gap = { channel: d.channel, reason: d.reason, requested: d.requested, resumed: d.resumed };
      expect(gap.requested, `${who}: gap #${i} must start where the client stood`).toEqual(at);
      gaps.push(gap);
      at = gap.resumed;
      gapJustBefore = true;
      return;
    }
    const where = `${who}: delivery #${i} (${d.epoch}/${d.offset}) after ${at.epoch}/${at.offset}${gapJustBefore ? ' (after a gap)' : ''}`;
    expect({ epoch: d.epoch, offset: d.offset }, where).toEqual({ epoch: at.epoch, offset: at.offset + 1 });
    messages.push({ epoch: d.epoch, offset: d.offset, data: d.data });
    at = { epoch: d.epoch, offset: d.offset };
    gapJustBefore = false;
  });
  return { messages, gaps };
}

/**
 * A stateless polling client (`GET /api/messages?since=<cursor>&wait=…`) that retries after a 503,
 * as a backend poller would: it keeps its cursor, so every answer continues where the last one ended.
 */
export class HttpPoller {
  readonly deliveries = new Collector<Delivery>();
  /** Every HTTP status answered, in order. */
  readonly statuses: number[] = [];
  /** Answers that were neither 200 nor a well-formed 503 (a test failure). */
  readonly unexpected: unknown[] = [];
  cursor: string | undefined;
  readonly #url: string;
  readonly #channel: string;
  readonly #wait: number;
  #stopped = false;
  #abort = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(url: string, channel: string, options: { cursor?: string; wait?: number } = {}) {
    this.#url = url;
    this.#channel = channel;
    this.cursor = options.cursor;
    this.#wait = options.wait ?? 1;
  }

  /** One short poll (no wait) from the current cursor; returns the body. */
  async pollOnce(): Promise<any> {
    const { status, body } = await poll(this.#url, this.#query(0));
    this.statuses.push(status);
    if (status !== 200) throw new Error(`poll answered ${status}: ${JSON.stringify(body)}`);
    this.#take(body);
    return body;
  }

  /** Starts long-polling in the background until {@link HttpPoller.stop}. */
  start(): void {
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        const res = await fetch(`${this.#url}/api/messages?${this.#query(this.#wait)}`, { signal: this.#abort.signal });
        const body: any = await res.json();
        this.statuses.push(res.status);
        if (res.status === 200) this.#take(body);
        else if (res.status !== 503 || res.headers.get('retry-after') !== '1' || body?.error?.code !== 3001)
          this.unexpected.push({ status: res.status, body });
        if (res.status !== 200) await sleep(100);
      } catch (error) {
        if (this.#stopped) return;
        this.unexpected.push(String(error));
        await sleep(100);
      }
    }
  }

  #query(wait: number): string {
    const since = this.cursor === undefined ? '' : `&since=${this.cursor}`;
    return `channel=${encodeURIComponent(this.#channel)}${since}&wait=${wait}`;
  }

  #take(body: any): void {
    for (const gap of body.gaps ?? []) this.deliveries.push(toDelivery({ type: 'gap', ...gap }));
    for (const message of body.messages) this.deliveries.push(toDelivery(message));
    this.cursor = body.cursor;
  }
}

/** A node in its own process, to be killed with SIGKILL (no cleanup can run). */
export interface NodeProcess {
  readonly url: string;
  readonly exited: Promise<unknown>;
  kill(): void;
}

const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

// Runs from the repository root so the workspace packages resolve to their builds (`npm run build`).
const NODE_SCRIPT = `
import { createHeraldServer } from '@herald/server';
import { RedisBroker, RedisPresenceStore } from '@herald/redis';
const url = process.env.FAULT_REDIS_URL;
const broker = await RedisBroker.connect({ url });
const presence = await RedisPresenceStore.connect({ url, memberTtl: Number(process.env.FAULT_MEMBER_TTL) });
const server = createHeraldServer({ broker, presence });
const port = await server.listen(0, '127.0.0.1');
process.stdout.write(JSON.stringify({ port }) + '\\n');
`;

/** Starts an in-process-style node (`createHeraldServer` + the Redis engine) as a child process. */
export async function startNodeProcess(redisUrl: string, memberTtl: number): Promise<NodeProcess> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', NODE_SCRIPT], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FAULT_REDIS_URL: redisUrl, FAULT_MEMBER_TTL: String(memberTtl) },
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node process did not start:\n${output}`)), 15_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /\{"port":(\d+)\}/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`node process exited (${String(code)}):\n${output}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/**
 * Index just past the RESP value starting at `pos`, or -1 when `buf` does not hold all of it yet.
 * Covers RESP2 and RESP3 (node-redis speaks RESP3).
 */
function respEnd(buf: Buffer, pos: number): number {
  if (pos >= buf.length) return -1;
  const lineEnd = buf.indexOf('\r\n', pos);
  if (lineEnd === -1) return -1;
  const type = String.fromCharCode(buf[pos]!);
  const n = Number(buf.toString('latin1', pos + 1, lineEnd));
  const next = lineEnd + 2;
  switch (type) {
    case '+':
    case '-':
    case ':':
    case '_':
    case '#':
    case ',':
    case '(':
      return next;
    case '$':
    case '!':
    case '=':
      if (n < 0) return next;
      return next + n + 2 <= buf.length ? next + n + 2 : -1;
    case '*':
    case '>':
    case '~':
    case '%':
    case '|': {
      if (n < 0) return next;
      // A map holds n pairs; an attribute holds n pairs and precedes the value it describes.
      const count = type === '%' ? 2 * n : type === '|' ? 2 * n + 1 : n;
      let p = next;
      for (let i = 0; i < count && p !== -1; i++) p = respEnd(buf, p);
      return p;
    }
    default:
      throw new Error(`unexpected RESP type ${JSON.stringify(type)}`);
  }
}

const MESSAGE_PUSH = Buffer.from('>3\r\n$7\r\nmessage\r\n$');

/** The pub/sub channel of a RESP3 `message` push, or undefined for any other value. */
function pushChannel(frame: Buffer): string | undefined {
  if (!frame.subarray(0, MESSAGE_PUSH.length).equals(MESSAGE_PUSH)) return undefined;
  const lineEnd = frame.indexOf('\r\n', MESSAGE_PUSH.length);
  const length = Number(frame.toString('latin1', MESSAGE_PUSH.length, lineEnd));
  return frame.toString('utf8', lineEnd + 2, lineEnd + 2 + length);
}

/**
 * A TCP proxy between one node and Redis, to inject faults on that node's connections only: drop
 * pub/sub pushes while the connection stays up (what an at-most-once live path may do), cut every
 * connection (a partition), refuse reconnects by their handshake (e.g. the node's command
 * connection, by its client name).
 */
export class RedisFaultProxy {
  readonly url: string;
  /** Drops `message` pushes of the pub/sub channels this returns true for. */
  dropPushes: ((channel: string) => boolean) | undefined;
  /** Closes new connections whose first bytes (the handshake, with the client name) this returns true for. */
  refuse: ((handshake: string) => boolean) | undefined;
  /** Pushes dropped so far. */
  dropped = 0;
  readonly #server: Server;
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<Socket>();

  private constructor(server: Server, target: { host: string; port: number }) {
    this.#server = server;
    this.#target = target;
    this.url = `redis://127.0.0.1:${(server.address() as { port: number }).port}`;
    server.on('connection', (socket) => this.#accept(socket));
  }

  /** Listens on a free port and forwards to `redisUrl`. */
  static async start(redisUrl: string): Promise<RedisFaultProxy> {
    const target = new URL(redisUrl);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new RedisFaultProxy(server, { host: target.hostname, port: Number(target.port) });
  }

  /** Destroys every open connection (both sides), as a network partition would. */
  cut(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  #accept(client: Socket): void {
    this.#track(client);
    client.once('data', (handshake: Buffer) => {
      if (this.refuse?.(handshake.toString('latin1')) === true) {
        client.destroy();
        return;
      }
      const upstream = connect(this.#target.port, this.#target.host);
      this.#track(upstream);
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.write(handshake);
      client.on('data', (chunk: Buffer) => upstream.write(chunk));
      let pending: Buffer = Buffer.alloc(0);
      let filtering = true;
      upstream.on('data', (chunk: Buffer) => {
        if (!filtering) return void client.write(chunk);
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        const keep: Buffer[] = [];
        let pos = 0;
        try {
          for (let end = respEnd(pending, pos); end !== -1; end = respEnd(pending, pos)) {
            const frame = pending.subarray(pos, end);
            const channel = pushChannel(frame);
            if (channel !== undefined && this.dropPushes?.(channel) === true) this.dropped++;
            else keep.push(frame);
            pos = end;
          }
        } catch {
          // Not RESP we understand: stop filtering this connection, forward everything as is.
          filtering = false;
          keep.push(pending.subarray(pos));
          pos = pending.length;
        }
        if (keep.length > 0) client.write(Buffer.concat(keep));
        pending = pending.subarray(pos);
      });
    });
  }
}
