import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { HOOK_SIGNATURE_HEADER, HOOK_TIMESTAMP_HEADER } from '@herald/protocol';
import { signatureHeaders } from '@herald/server';
import { Collector } from '@herald/testkit';

/** One request the app received. */
export interface HookCall {
  readonly path: string;
  readonly body: any;
  readonly headers: IncomingHttpHeaders;
}

/**
 * A real app server for hook tests (node:http on 127.0.0.1, port 0). It checks every request's
 * signature with the hub's own signing (`signatureHeaders`) and answers 401 to a bad one (counted
 * in `badSignatures`); otherwise `answer` decides (its value, or what its promise resolves to, is
 * the JSON body of a 200). It counts calls in flight, and can hold every
 * answer until the test releases them.
 */
export class HookApp {
  readonly calls = new Collector<HookCall>();
  /** Requests whose signature did not verify. */
  badSignatures = 0;
  /** Calls being answered now, and the most at once. */
  inFlight = 0;
  maxInFlight = 0;
  /** The answer to a call (default: allow). */
  answer: (call: HookCall) => unknown = () => ({ allow: true });
  /** Milliseconds before each answer. */
  delay = 0;
  readonly #server: Server;
  readonly #secret: string;
  #held: (() => void)[] | undefined;

  private constructor(server: Server, secret: string) {
    this.#server = server;
    this.#secret = secret;
  }

  static async start(secret: string): Promise<HookApp> {
    const server = createServer();
    const app = new HookApp(server, secret);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => void app.#serve(req.url ?? '/', req.headers, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return app;
  }

  /** The URL of `path` on this app. */
  url(path = '/hooks'): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}${path}`;
  }

  /** Holds every answer from now until {@link release}. */
  hold(): void {
    this.#held ??= [];
  }

  /** Answers the held calls and stops holding. */
  release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const go of held) go();
  }

  /** Calls of hook `hook` so far. */
  callsOf(hook: string): HookCall[] {
    return this.calls.items.filter((c) => c.body?.hook === hook);
  }

  async close(): Promise<void> {
    this.release();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #serve(path: string, headers: IncomingHttpHeaders, text: string, res: ServerResponse): Promise<void> {
    const timestamp = headers[HOOK_TIMESTAMP_HEADER];
    const signature = headers[HOOK_SIGNATURE_HEADER];
    const expected =
      typeof timestamp === 'string' && /^\d+$/.test(timestamp)
        ? signatureHeaders([this.#secret], text, Number(timestamp) * 1000)[HOOK_SIGNATURE_HEADER]!
        : '';
    const presented = typeof signature === 'string' ? signature.split(',')[0]! : '';
    if (expected === '' || presented.length !== expected.length || !timingSafeEqual(Buffer.from(presented), Buffer.from(expected))) {
      this.badSignatures++;
      res.writeHead(401).end();
      return;
    }
    const call: HookCall = { path, body: JSON.parse(text), headers };
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.calls.push(call);
    try {
      if (this.#held !== undefined) await new Promise<void>((resolve) => this.#held!.push(resolve));
      if (this.delay > 0) await new Promise((resolve) => setTimeout(resolve, this.delay));
      const reply: unknown = await this.answer(call);
      if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
    } finally {
      this.inFlight--;
    }
  }
}
