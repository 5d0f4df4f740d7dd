import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a real hub that injects one fault at a time: drop the hub's
 * next response (the request reached the hub and was served; the client sees its connection cut),
 * answer the next request itself with given bytes (the hub never sees it), or swallow the next
 * request (no answer ever).
 */
export class FaultProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #fault: { kind: 'drop' } | { kind: 'answer'; bytes: string } | { kind: 'stall' } | undefined;
  /** Client connections accepted so far. */
  connections = 0;
  /** Requests the proxy faulted so far. */
  faulted = 0;
  /** The request line (`POST /api/publish HTTP/1.1`) of every request seen, in order. */
  readonly requests: string[] = [];
  readonly url: string;

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.url = `http://127.0.0.1:${port}`;
  }

  /** Starts a proxy to `127.0.0.1:targetPort` on a free port. */
  static async start(targetPort: number): Promise<FaultProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new FaultProxy(server, (server.address() as { port: number }).port);
    server.on('connection', (client) => proxy.#accept(client, targetPort));
    return proxy;
  }

  /** The hub's next response is not forwarded: both connections are cut when it arrives. */
  dropNextResponse(): void {
    this.#fault = { kind: 'drop' };
  }

  /** The next request is answered with `bytes` (a whole HTTP response) and the connection closed. */
  answerNextRequest(bytes: string): void {
    this.#fault = { kind: 'answer', bytes };
  }

  /** The next request is read and never answered. */
  stallNextRequest(): void {
    this.#fault = { kind: 'stall' };
  }

  #accept(client: Socket, targetPort: number): void {
    this.connections++;
    const upstream = connect(targetPort, '127.0.0.1');
    this.#sockets.add(client).add(upstream);
    let mode: 'forward' | 'swallow' = 'forward';
    const closeBoth = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      const line = /^(?:GET|POST) \S+ HTTP\/1\.1/.exec(chunk.subarray(0, 2048).toString('latin1'));
      if (line !== null) this.requests.push(line[0]);
      if (mode === 'swallow') return;
      const fault = this.#fault;
      if (fault?.kind === 'answer' || fault?.kind === 'stall') {
        this.#fault = undefined;
        this.faulted++;
        mode = 'swallow';
        if (fault.kind === 'answer') client.end(fault.bytes);
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (this.#fault?.kind === 'drop') {
        this.#fault = undefined;
        this.faulted++;
        closeBoth();
        return;
      }
      client.write(chunk);
    });
    for (const socket of [client, upstream]) {
      socket.on('error', closeBoth);
      socket.on('close', () => {
        this.#sockets.delete(socket);
        closeBoth();
      });
    }
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
