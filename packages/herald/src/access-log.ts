import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';

/** Where access lines go: the hub's logger, at `info`. */
export interface AccessLogger {
  info(obj: object, msg?: string): void;
}

/** Options of {@link attachAccessLog}. */
export interface AccessLogOptions {
  /** A monotonic clock in ms. @default performance.now */
  readonly now?: (() => number) | undefined;
}

/** One access line: the `msg` is `access`. */
export interface AccessLine {
  /** `http` for a request (an SSE stream or a held poll included, logged when it ends), `websocket` for an upgrade. */
  readonly kind: 'http' | 'websocket';
  readonly method: string;
  /**
   * The path and query, each query value not in {@link LOGGED_QUERY_PARAMS} replaced by
   * `[redacted]`; of an absolute-form target (`http://user:pass@host/path`), only the path and query.
   */
  readonly path: string;
  /** The status answered (`101` for a WebSocket session), or `null` when the client left before any answer. */
  readonly status: number | null;
  /** ms from the request (or upgrade) to the end of its response (or session). */
  readonly ms: number;
  /** Bytes written to the connection meanwhile, headers included. */
  readonly bytesOut: number;
  /** WebSocket sessions only: bytes read from the connection, the upgrade request included. */
  readonly bytesIn?: number;
  /** The peer's IP address (the proxy's, behind one). */
  readonly remote: string | undefined;
}

/**
 * Query parameters whose values are logged as sent: the protocol's, none of which carries a
 * credential. Every other value (`token`, `access_token`, `ticket`, a `key` …) is logged as
 * `[redacted]`: a list of what is safe cannot leak a credential a later parameter adds.
 */
export const LOGGED_QUERY_PARAMS: ReadonlySet<string> = new Set(['channel', 'since', 'limit', 'lookback', 'wait', 'joinLeave']);

/**
 * `url` (a request target) with every query value not in {@link LOGGED_QUERY_PARAMS} redacted; no
 * fragment, and of an absolute-form target (`GET http://user:pass@host/p?q`, which a client may
 * send to any server) no scheme and no authority: its user information may be a credential.
 */
export function loggedPath(url: string): string {
  let [target = ''] = url.split('#', 1);
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/?]*/i.exec(target);
  if (absolute !== null) {
    const rest = target.slice(absolute[0].length);
    target = rest.startsWith('/') ? rest : `/${rest}`;
  }
  const question = target.indexOf('?');
  if (question === -1) return target;
  const query = target
    .slice(question + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      if (equals === -1) return pair;
      const name = pair.slice(0, equals);
      let decoded: string;
      try {
        decoded = decodeURIComponent(name.replaceAll('+', ' '));
      } catch {
        decoded = name;
      }
      return LOGGED_QUERY_PARAMS.has(decoded) ? pair : `${name}=[redacted]`;
    })
    .join('&');
  return `${target.slice(0, question)}?${query}`;
}

/**
 * The status line of the first bytes a raw (upgrade) socket writes: `101`, or the refusal the hub
 * wrote instead. The socket's own `write` and `end` are wrapped until then, and restored after.
 */
function watchStatus(socket: Duplex): () => number | null {
  let status: number | null = null;
  const look = (chunk: unknown): void => {
    const head = typeof chunk === 'string' ? chunk.slice(0, 16) : Buffer.isBuffer(chunk) ? chunk.toString('latin1', 0, 16) : '';
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(head);
    if (match !== null) status = Number(match[1]);
    // Own properties shadow the prototype's methods; deleting them restores those.
    delete (socket as Partial<Duplex>).write;
    delete (socket as Partial<Duplex>).end;
  };
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  const end = socket.end.bind(socket) as (...args: unknown[]) => Duplex;
  socket.write = ((...args: unknown[]): boolean => {
    look(args[0]);
    return write(...args);
  }) as Duplex['write'];
  socket.end = ((...args: unknown[]): Duplex => {
    look(args[0]);
    return end(...args);
  }) as Duplex['end'];
  return () => status;
}

/**
 * Logs one `access` line ({@link AccessLine}) per HTTP request of `server` when its response ends
 * or its client leaves, and one per WebSocket upgrade when its socket closes (a refused upgrade
 * included, with the refusal's status). Never a header: no `Authorization`, `X-Herald-Key` or
 * `Cookie`, and query values are redacted by {@link loggedPath}. Call it before the server can
 * have read a request: its listeners run before the hub's, so the byte counts start at zero.
 */
export function attachAccessLog(server: Server, logger: AccessLogger, options: AccessLogOptions = {}): void {
  const now = options.now ?? (() => performance.now());
  const line = (
    kind: AccessLine['kind'],
    req: IncomingMessage,
    status: number | null,
    since: number,
    out0: number,
    remote: string | undefined,
  ): AccessLine => ({
    kind,
    method: req.method ?? '',
    path: loggedPath(req.url ?? ''),
    status,
    ms: Math.round(now() - since),
    bytesOut: req.socket.bytesWritten - out0,
    remote,
  });
  // The address is read when the request arrives: a destroyed socket (a refused upgrade) no longer has one.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const since = now();
    const remote = req.socket.remoteAddress;
    // A request's body may already have been read with its head: only the bytes out are its own.
    const { bytesWritten } = req.socket;
    res.once('close', () => logger.info(line('http', req, res.headersSent ? res.statusCode : null, since, bytesWritten, remote), 'access'));
  });
  server.prependListener('upgrade', (req: IncomingMessage, socket: Duplex) => {
    const since = now();
    const remote = req.socket.remoteAddress;
    const status = watchStatus(socket);
    socket.once('close', () =>
      logger.info({ ...line('websocket', req, status(), since, 0, remote), bytesIn: req.socket.bytesRead }, 'access'),
    );
  });
}
