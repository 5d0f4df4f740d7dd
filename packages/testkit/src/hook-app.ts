import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HOOK_SIGNATURE_HEADER, HOOK_TIMESTAMP_HEADER } from '@herald/protocol';
import { signatureHeaders } from '@herald/server';
import { Collector } from './waiter.js';

/** One request the app received: its path, parsed JSON body and whether its signature checked out. */
export interface HookAppRequest {
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly signed: boolean;
  readonly headers: IncomingMessage['headers'];
}

/** What a handler answers: a JSON value (status 200), a promise of one, or `undefined` when it wrote the response itself. */
export type HookAppAnswer = unknown;

/** Decides the answer to one request; may be async (a slow app) or throw (answered 500). */
export type HookAppHandler = (request: HookAppRequest, res: ServerResponse) => unknown;

/** A real HTTP app receiving Herald's hooks and webhooks in a test. */
export interface HookApp {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly requests: Collector<HookAppRequest>;
  /** Most requests the app held at once. */
  readonly maxInFlight: number;
  /** Replaces the handler. */
  handle(handler: HookAppHandler): void;
  close(): Promise<void>;
}

/**
 * Starts an app on 127.0.0.1 at port 0 that checks each request's signature against `secret`
 * (recording `signed: false` and answering 401 when it fails) and answers with `handler`'s value
 * as JSON (`undefined`: the handler wrote the response itself; a thrown error: 500).
 */
export async function startHookApp(secret: string, handler: HookAppHandler = () => ({ allow: true })): Promise<HookApp> {
  let current = handler;
  let inFlight = 0;
  let maxInFlight = 0;
  const requests = new Collector<HookAppRequest>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      res.on('close', () => inFlight--);
      const text = Buffer.concat(chunks).toString('utf8');
      const timestamp = Number(req.headers[HOOK_TIMESTAMP_HEADER]);
      const expected = signatureHeaders([secret], text, timestamp * 1000)[HOOK_SIGNATURE_HEADER]!;
      const presented = String(req.headers[HOOK_SIGNATURE_HEADER] ?? '').split(',');
      const signed = Number.isInteger(timestamp) && presented.includes(expected);
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // recorded as an empty body
      }
      const request: HookAppRequest = { path: req.url ?? '/', body, signed, headers: req.headers };
      requests.push(request);
      if (!signed) {
        res.writeHead(401).end();
        return;
      }
      Promise.resolve()
        .then(() => current(request, res))
        .then(
          (answer) => {
            if (answer === undefined || res.headersSent) return;
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
          },
          () => {
            if (!res.headersSent) res.writeHead(500).end();
          },
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get maxInFlight() {
      return maxInFlight;
    },
    handle(next) {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
