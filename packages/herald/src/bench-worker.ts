/**
 * The client side of `herald bench`, run in its own process (`child_process.fork`) so that the load
 * it generates does not share an event loop with the publisher or the hub. It connects the clients
 * of one transport at a time over real sockets, counts every byte those sockets carry and every
 * request they make, and reports to its parent over the IPC channel.
 */
import { request, Agent, type ClientRequest, type IncomingMessage } from 'node:http';
import { createConnection, type Socket, type NetConnectOpts } from 'node:net';
import WebSocket from 'ws';
import { benchNow, type BenchRunOrder, type BenchStopOrder, type BenchWorkerReport } from './bench-worker-protocol.js';

/** How long a long-polling request is held by the hub, in seconds. */
const LONG_POLL_WAIT_S = 25;

interface Envelope {
  readonly type: string;
  readonly channel?: string;
  readonly epoch?: string;
  readonly offset?: number;
  readonly data?: { t?: number };
}

interface PollAnswer {
  readonly messages: Envelope[];
  readonly cursor: string;
  readonly more?: boolean;
  readonly gaps?: unknown[];
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

/** What a client has received, so that a message delivered twice across a reconnect counts once. */
interface Received {
  received: number;
  /** The position of the last message counted. */
  last?: { epoch: string; offset: number };
}

/** One subscribing client. */
interface BenchClient extends Received {
  /** Resolves once the client is subscribed. */
  readonly ready: Promise<void>;
  /** Sends one message to the hub. */
  send(data: unknown): void;
  /** Closes the connection and opens a new one that resumes from the last position received. */
  reconnect(): void;
  close(): void;
}

class Run {
  readonly counter = new SocketCounter();
  readonly latencies: number[] = [];
  readonly clients: BenchClient[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #started = benchNow();
  upstream = 0;
  reconnects = 0;
  gaps = 0;
  stopped = false;
  #onReceive: (() => void) | undefined;

  constructor(readonly order: BenchRunOrder) {}

  receive(envelope: Envelope, client: Received): void {
    if (envelope.type === 'gap') this.gaps++;
    if (envelope.type !== 'message' || typeof envelope.data?.t !== 'number') return;
    if (envelope.epoch !== undefined && envelope.offset !== undefined) {
      if (client.last?.epoch === envelope.epoch && envelope.offset <= client.last.offset) return;
      client.last = { epoch: envelope.epoch, offset: envelope.offset };
    }
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
    const url = new URL(`${this.order.url}${path}`);
    const req = request(url, {
      method,
      agent,
      headers: { ...this.keyHeader(), ...(body !== undefined && { 'content-type': 'application/json' }) },
    });
    this.countSent(req);
    const done = new Promise<string>((resolve, reject) => {
      req.on('error', reject);
      req.once('response', (res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.once('end', () =>
          res.statusCode === 200 ? resolve(text) : reject(new Error(`${method} ${url.pathname}: HTTP ${res.statusCode}: ${excerpt(text)}`)),
        );
        res.once('error', reject);
      });
    });
    req.end(body);
    return { done, abort: () => req.destroy() };
  }

  /** `X-Herald-Key` when the order carries a key. */
  keyHeader(): Record<string, string> {
    return this.order.key === undefined ? {} : { 'x-herald-key': this.order.key };
  }

  /** Reconnects each client `churn` times a minute, the clients' turns spread evenly over the period. */
  startChurn(): void {
    if (this.order.churn <= 0) return;
    const period = 60_000 / this.order.churn;
    this.clients.forEach((client, i) => {
      const turn = (): void => {
        if (this.stopped) return;
        this.reconnects++;
        client.reconnect();
      };
      const first = setTimeout(
        () => {
          turn();
          this.#timers.push(setInterval(turn, period));
        },
        (period * (i + 1)) / this.clients.length,
      );
      this.#timers.push(first);
    });
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
    for (const timer of this.#timers) clearTimeout(timer);
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
        reconnects: this.reconnects,
        gaps: this.gaps,
        elapsedMs: benchNow() - this.#started,
      },
    };
  }
}

/** The start of an answer's body, on one line without control characters: it ends up on a terminal. */
function excerpt(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this removes
  const line = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
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
  const url = new URL(`${run.order.url}/ws`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const ready = deferred();
  let ws: WebSocket | undefined;
  let id = 0;
  // Where the first subscription started; after a message, the client resumes after that message.
  let start: { epoch: string; offset: number } | undefined;
  const open = (): void => {
    run.counter.requests++;
    const socket = new WebSocket(url, {
      perMessageDeflate: false,
      headers: run.keyHeader(),
      createConnection: run.counter.connect as typeof createConnection,
    });
    ws = socket;
    const subscribe = ++id;
    const since = client.last ?? start;
    socket.once('open', () =>
      socket.send(JSON.stringify({ id: subscribe, type: 'subscribe', channel, ...(since !== undefined && { since }) })),
    );
    socket.on('message', (raw: Buffer) => {
      const frame = JSON.parse(raw.toString()) as Envelope & {
        id?: number;
        error?: { message: string };
        position?: { epoch: string; offset: number };
      };
      if (frame.type === 'reply' && frame.id === subscribe) {
        if (frame.error !== undefined) return ready.reject(new Error(`subscribe refused: ${frame.error.message}`));
        start ??= frame.position;
        ready.resolve();
      } else if (frame.type !== 'reply') run.receive(frame, client);
    });
    socket.on('error', (error) => ready.reject(new Error(`the WebSocket handshake failed: ${error.message}`)));
  };
  const client: BenchClient = {
    received: 0,
    ready: ready.promise,
    send: (data) => ws?.send(JSON.stringify({ id: ++id, type: 'publish', channel: run.order.upstreamChannel, data })),
    reconnect: () => {
      ws?.terminate();
      open();
    },
    close: () => ws?.terminate(),
  };
  open();
  return client;
}

function httpSender(run: Run, agent: () => Agent): (data: unknown) => void {
  return (data) => {
    run.fetch(agent(), 'POST', '/api/publish', JSON.stringify({ channel: run.order.upstreamChannel, data })).done.catch(() => {});
  };
}

function sseClient(run: Run, channel: string): BenchClient {
  let agent = run.agent();
  const ready = deferred();
  let req: ClientRequest | undefined;
  // The `id:` of the last event: a cursor over the stream, sent back as `Last-Event-ID` on a reconnect.
  let lastEventId: string | undefined;
  const open = (): void => {
    const current = request(new URL(`${run.order.url}/events?channel=${encodeURIComponent(channel)}`), {
      agent,
      headers: { ...run.keyHeader(), ...(lastEventId !== undefined && { 'last-event-id': lastEventId }) },
    });
    req = current;
    run.countSent(current);
    current.once('response', (res) => {
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
            else if (line.startsWith('id: ')) lastEventId = line.slice(4);
          }
          if (name === 'ready') ready.resolve();
          else if ((name === 'message' || name === 'gap') && data !== '') run.receive(JSON.parse(data) as Envelope, client);
        }
      });
      res.on('error', () => {});
    });
    current.on('error', (error) => ready.reject(error));
    current.end();
  };
  const client: BenchClient = {
    received: 0,
    ready: ready.promise,
    send: httpSender(run, () => agent),
    reconnect: () => {
      req?.destroy();
      agent.destroy();
      agent = run.agent();
      open();
    },
    close: () => req?.destroy(),
  };
  open();
  return client;
}

function pollingClient(run: Run, channel: string, long: boolean): BenchClient {
  let agent = run.agent();
  const ready = deferred();
  let abort: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let reconnecting = false;
  const client: BenchClient = {
    received: 0,
    ready: ready.promise,
    send: httpSender(run, () => agent),
    // A new connection: the request in flight is abandoned and asked again, with the same cursor, on it.
    reconnect: () => {
      reconnecting = true;
      abort?.();
      agent.destroy();
      agent = run.agent();
    },
    close: () => {
      closed = true;
      clearTimeout(timer);
      abort?.();
    },
  };
  const base = `/api/messages?channel=${encodeURIComponent(channel)}`;
  const poll = async (cursor: string): Promise<void> => {
    while (!closed) {
      reconnecting = false;
      const call = run.fetch(agent, 'GET', `${base}&since=${encodeURIComponent(cursor)}${long ? `&wait=${LONG_POLL_WAIT_S}` : ''}`);
      abort = call.abort;
      let answer: PollAnswer;
      try {
        answer = JSON.parse(await call.done) as PollAnswer;
      } catch (error) {
        if (reconnecting || closed) continue;
        throw error;
      }
      run.gaps += answer.gaps?.length ?? 0;
      for (const message of answer.messages) run.receive(message, client);
      cursor = answer.cursor;
      if (!long && answer.more !== true && !closed) await new Promise((resolve) => (timer = setTimeout(resolve, run.order.pollInterval)));
    }
  };
  run
    .fetch(agent, 'GET', `${base}&since=now`)
    .done.then(async (text) => {
      ready.resolve();
      const cursor = (JSON.parse(text) as PollAnswer).cursor;
      // Real short-polling clients are not in step with each other or with the publisher: each
      // starts its cycle at its own moment, so that the latency measured is that of the interval.
      if (!long) await new Promise((resolve) => (timer = setTimeout(resolve, Math.random() * run.order.pollInterval)));
      return poll(cursor);
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
  let subscribed = 0;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const waiting = run.clients.length - subscribed;
      reject(
        new Error(
          `${waiting} of ${run.clients.length} clients were not subscribed after ${order.connectTimeoutMs / 1000} s (a proxy that buffers the response or holds the upgrade?)`,
        ),
      );
    }, order.connectTimeoutMs);
  });
  try {
    await Promise.race([Promise.all(run.clients.map((client) => client.ready.then(() => subscribed++))), timeout]);
  } catch (error) {
    // Nothing of this run may stay open: the next transport starts on a clean slate.
    run.stopped = true;
    for (const client of run.clients) client.close();
    await run.counter.closeAll();
    current = undefined;
    throw error;
  } finally {
    clearTimeout(timer);
  }
  run.startUpstream();
  run.startChurn();
  reply({ type: 'ready' });
}

process.on('message', (message: BenchRunOrder | BenchStopOrder) => {
  const job = message.type === 'run' ? start(message) : current!.stop(message).then(reply);
  job.catch((error: unknown) => reply({ type: 'failed', message: (error as Error).message }));
});
process.on('disconnect', () => process.exit(0));
