import { createServer, connect, type Socket } from 'node:net';

/** A TCP proxy in front of a hub that a test can cut, restore, and make drop the hub's answers. */
export interface TcpProxy {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** Connections accepted so far (cut or not). */
  readonly accepted: number;
  /**
   * Cuts the network: every open connection is destroyed and new ones are closed at once, except
   * HTTP requests whose request line `allow` lets through (e.g. the page itself).
   */
  cut(): void;
  /** Lets connections through again (and the hub's answers, after {@link TcpProxy.holdReplies}). */
  restore(): void;
  /**
   * From now on, what the hub sends is dropped on every connection while what the client sends
   * still reaches the hub: a request is served but its answer never arrives (until a cut).
   */
  holdReplies(): void;
  close(): Promise<void>;
}

export interface TcpProxyOptions {
  /** While cut: whether an HTTP request with this request line (`GET /path HTTP/1.1`) may pass. */
  readonly allow?: (requestLine: string) => boolean;
}

const REQUEST_LINE = /^([A-Z]+) (\S+) HTTP\/1\.[01]\r\n/;

/** Starts a proxy on 127.0.0.1 at a free port forwarding to `127.0.0.1:targetPort`. */
export async function startTcpProxy(targetPort: number, options: TcpProxyOptions = {}): Promise<TcpProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  let isCut = false;
  let held = false;
  let accepted = 0;
  const allowed = (chunk: Buffer): boolean => {
    const line = REQUEST_LINE.exec(chunk.subarray(0, 2048).toString('latin1'));
    // Not a request line: more of a request, or frames of an upgraded connection (which a cut destroyed).
    if (line === null) return true;
    return options.allow?.(line[0].trimEnd()) ?? false;
  };
  const server = createServer((client) => {
    accepted++;
    const upstream = connect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      if (isCut && !allowed(chunk)) return end();
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!held) client.write(chunk);
    });
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get accepted() {
      return accepted;
    },
    cut() {
      isCut = true;
      held = false;
      for (const pair of [...pairs]) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      pairs.clear();
    },
    restore() {
      isCut = false;
      held = false;
    },
    holdReplies() {
      held = true;
    },
    close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
