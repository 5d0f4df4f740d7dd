/**
 * The client side of `herald bench`, run in its own process (`child_process.fork`) so that the load
 * it generates does not share an event loop with the publisher or the hub. It connects the clients
 * of one transport at a time over real sockets, counts every byte those sockets carry and every
 * request they make, and reports to its parent over the IPC channel.
 */
import { request, Agent, type ClientRequest, type IncomingMessage } from 'node:http';
import { createConnection, type Socket, type NetConnectOpts } from 'node:net';
import WebSocket from 'ws';
import {
  BENCH_UPSTREAM_CHANNEL,
  benchNow,
  type BenchRunOrder,
  type BenchStopOrder,
  type BenchWorkerReport,
} from './bench-worker-protocol.js';

/** How long a long-polling request is held by the hub, in seconds. */
const LONG_POLL_WAIT_S = 25;

interface Envelope {
  readonly type: string;
  readonly channel?: string;
  readonly data?: { t?: number };
}

interface PollAnswer {
  readonly messages: Envelope[];
  readonly cursor: string;
  readonly more?: boolean;
}

/** The sockets of one run and what they carried. */
class SocketCounter {
  bytesIn = 0;
  bytesOut = 0;
  connections = 0;
  requests = 0;
  readonly #open = new Set<Socket>();
  readonly #closed: (() => void)[] = [];

  connect = (options: NetConnectOpts): Socket => {
    const socket = createConnection(options);
    this.connections++;
    this.#open.add(socket);
    socket.once('close', () => {
      this.bytesIn += socket.bytesRead;
      this.bytesOut += socket.bytesWritten;
      this.#open.delete(socket);
      if (this.#open.size === 0) for (const resolve of this.#closed.splice(0)) resolve();
    });
    return socket;
  };

  /** Destroys every socket still open and resolves once all are closed and counted. */
  closeAll(): Promise<void> {
    if (this.#open.size === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#closed.push(resolve));
    for (const socket of this.#open) socket.destroy();
    return done;
  }
}

/** One subscribing client. */
interface BenchClient {
  received: number;
  /** Resolves once the client is subscribed. */
  readonly ready: Promise<void>;
  /** Sends one message to the hub. */
  send(data: unknown): void;
  close(): void;
}

class Run {
  readonly counter = new SocketCounter();
  readonly latencies: number[] = [];
  readonly clients: BenchClient[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #started = benchNow();
  upstream = 0;
  stopped = false;
  #onReceive: (() => void) | undefined;

  constructor(readonly order: BenchRunOrder) {}

  receive(envelope: Envelope, client: { received: number }): void {
    if (envelope.type !== 'message' || typeof envelope.data?.t !== 'number') return;
    this.latencies.push(benchNow() - envelope.data.t);
    client.received++;
    this.#onReceive?.();
  }

  /** Counts `req` once it is on the wire: a request aborted before it was written (at close) is no request. */
  countSent(req: ClientRequest): void {
    req.once('finish', () => this.counter.requests++);
  }

  agent(): Agent {
    const agent = new Agent({ keepAlive: true });
    agent.createConnection = this.counter.connect;
    return agent;
  }

  /** An HTTP request over `agent`, counted; resolves with the answer's body. */
  fetch(agent: Agent, method: string, path: string, body?: string): { done: Promise<string>; abort: () => void } {
    const url = new URL(path, this.order.url);
    const req = request(url, { method, agent, headers: body === undefined ? {} : { 'content-type': 'application/json' } });
    this.countSent(req);
    const done = new Promise<string>((resolve, reject) => {
      req.once('error', reject);
      req.once('response', (res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.once('end', () =>
          res.statusCode === 200 ? resolve(text) : reject(new Error(`${method} ${url.pathname}: HTTP ${res.statusCode}: ${text}`)),
        );
        res.once('error', reject);
      });
    });
    req.end(body);
    return { done, abort: () => req.destroy() };
  }

  startUpstream(): void {
    if (this.order.clientRate <= 0) return;
    const every = 1000 / this.order.clientRate;
    const pad = 'u'.repeat(this.order.messageSize);
    for (const client of this.clients) {
      this.#timers.push(
        setInterval(() => {
          if (this.stopped) return;
          this.upstream++;
          client.send({ t: benchNow(), p: pad });
        }, every),
      );
    }
  }

  /** Stops sending, waits for the expected messages (at most `graceMs`), closes everything and counts. */
  async stop(stop: BenchStopOrder): Promise<BenchWorkerReport> {
    this.stopped = true;
    for (const timer of this.#timers) clearInterval(timer);
    const expectedOf = this.order.channels.map((channel) => stop.expected[channel] ?? 0);
    const complete = (): boolean => this.clients.every((client, i) => client.received >= (expectedOf[i] ?? 0));
    if (!complete()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, stop.graceMs);
        this.#onReceive = () => {
          if (!complete()) return;
          clearTimeout(timer);
          resolve();
        };
      });
    }
    for (const client of this.clients) client.close();
    await this.counter.closeAll();
    const expected = expectedOf.reduce((sum, n) => sum + n, 0);
    const received = this.clients.reduce((sum, client, i) => sum + Math.min(client.received, expectedOf[i] ?? 0), 0);
    return {
      type: 'result',
      counts: {
        latencies: this.latencies,
        expected,
        received,
        bytesIn: this.counter.bytesIn,
        bytesOut: this.counter.bytesOut,
        requests: this.counter.requests,
        connections: this.counter.connections,
        upstream: this.upstream,
        elapsedMs: benchNow() - this.#started,
      },
    };
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function webSocketClient(run: Run, channel: string): BenchClient {
  const url = new URL('/ws', run.order.url);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  run.counter.requests++;
  const ws = new WebSocket(url, { perMessageDeflate: false, createConnection: run.counter.connect as typeof createConnection });
  const ready = deferred();
  let id = 1;
  const client: BenchClient = {
    received: 0,
    ready: ready.promise,
    send: (data) => ws.send(JSON.stringify({ id: ++id, type: 'publish', channel: BENCH_UPSTREAM_CHANNEL, data })),
    close: () => ws.terminate(),
  };
  ws.once('open', () => ws.send(JSON.stringify({ id: 1, type: 'subscribe', channel })));
  ws.on('message', (raw: Buffer) => {
    const frame = JSON.parse(raw.toString()) as Envelope & { id?: number; error?: { message: string } };
    if (frame.type === 'reply' && frame.id === 1) {
      if (frame.error === undefined) ready.resolve();
      else ready.reject(new Error(`subscribe refused: ${frame.error.message}`));
    } else run.receive(frame, client);
  });
  ws.once('error', (error) => ready.reject(error));
  return client;
}

function httpSender(run: Run, agent: Agent): (data: unknown) => void {
  return (data) => {
    run.fetch(agent, 'POST', '/api/publish', JSON.stringify({ channel: BENCH_UPSTREAM_CHANNEL, data })).done.catch(() => {});
  };
}

function sseClient(run: Run, channel: string): BenchClient {
  const agent = run.agent();
  const ready = deferred();
  const req = request(new URL(`/events?channel=${encodeURIComponent(channel)}`, run.order.url), { agent });
  run.countSent(req);
  const client: BenchClient = { received: 0, ready: ready.promise, send: httpSender(run, agent), close: () => req.destroy() };
  req.once('response', (res) => {
    if (res.statusCode !== 200) return ready.reject(new Error(`GET /events: HTTP ${res.statusCode}`));
    let buffer = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = 'message';
        let data = '';
        for (const line of event.split('\n')) {
          if (line.startsWith('event: ')) name = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (name === 'ready') ready.resolve();
        else if (name === 'message' && data !== '') run.receive(JSON.parse(data) as Envelope, client);
      }
    });
    res.on('error', () => {});
  });
  req.once('error', (error) => ready.reject(error));
  req.end();
  return client;
}

function pollingClient(run: Run, channel: string, long: boolean): BenchClient {
  const agent = run.agent();
  const ready = deferred();
  let abort: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const client: BenchClient = {
    received: 0,
    ready: ready.promise,
    send: httpSender(run, agent),
    close: () => {
      closed = true;
      clearTimeout(timer);
      abort?.();
    },
  };
  const base = `/api/messages?channel=${encodeURIComponent(channel)}`;
  const poll = async (cursor: string): Promise<void> => {
    while (!closed) {
      const call = run.fetch(agent, 'GET', `${base}&since=${encodeURIComponent(cursor)}${long ? `&wait=${LONG_POLL_WAIT_S}` : ''}`);
      abort = call.abort;
      const answer = JSON.parse(await call.done) as PollAnswer;
      for (const message of answer.messages) run.receive(message, client);
      cursor = answer.cursor;
      if (!long && answer.more !== true && !closed) await new Promise((resolve) => (timer = setTimeout(resolve, run.order.pollInterval)));
    }
  };
  run
    .fetch(agent, 'GET', `${base}&since=now`)
    .done.then((text) => {
      ready.resolve();
      return poll((JSON.parse(text) as PollAnswer).cursor);
    })
    .catch((error: unknown) => {
      if (!closed) ready.reject(error as Error);
    });
  return client;
}

let current: Run | undefined;

function reply(report: BenchWorkerReport): void {
  process.send?.(report);
}

async function start(order: BenchRunOrder): Promise<void> {
  const run = new Run(order);
  current = run;
  for (const channel of order.channels) {
    run.clients.push(
      order.transport === 'websocket'
        ? webSocketClient(run, channel)
        : order.transport === 'sse'
          ? sseClient(run, channel)
          : pollingClient(run, channel, order.transport === 'long-polling'),
    );
  }
  await Promise.all(run.clients.map((client) => client.ready));
  run.startUpstream();
  reply({ type: 'ready' });
}

process.on('message', (message: BenchRunOrder | BenchStopOrder) => {
  const job = message.type === 'run' ? start(message) : current!.stop(message).then(reply);
  job.catch((error: unknown) => reply({ type: 'failed', message: (error as Error).message }));
});
process.on('disconnect', () => process.exit(0));
