import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HOOK_SIGNATURE_HEADER, HOOK_TIMESTAMP_HEADER, type WebhookEvent } from '@herald/protocol';
import { signatureHeaders } from '@herald/server';
import { Collector } from './waiter.js';

/** One webhook request the app received. */
export interface WebhookDelivery {
  readonly events: readonly WebhookEvent[];
  /** Whether its signature checked out against the app's secret (an unsigned one is answered 401). */
  readonly signed: boolean;
  /** `performance.now()` when it arrived. */
  readonly at: number;
  /** The status the app answered (undefined while held). */
  status?: number;
}

/** How the app answers a request: a status, or `'hold'`: never (until the app closes or the hub gives up). */
export type WebhookAppAnswer = number | 'hold';

/** A real HTTP app receiving Herald's webhooks in a test. */
export interface WebhookApp {
  /** `http://127.0.0.1:<port>/webhooks` */
  readonly url: string;
  /** Every request, in arrival order. */
  readonly deliveries: Collector<WebhookDelivery>;
  /** Every event id received in a request answered 2xx (a duplicate appears twice). */
  delivered(): string[];
  /** Sets how the app answers from now on. @default 200 */
  answer(decide: (delivery: WebhookDelivery) => WebhookAppAnswer): void;
  /** Ends the requests the app holds (their connections are destroyed). */
  releaseHeld(): void;
  close(): Promise<void>;
}

/**
 * Starts an app on 127.0.0.1 at port 0 that checks each webhook request's signature against
 * `secret` and answers per {@link WebhookApp.answer} (default 200).
 */
export async function startWebhookApp(secret: string): Promise<WebhookApp> {
  let decide: (delivery: WebhookDelivery) => WebhookAppAnswer = () => 200;
  const deliveries = new Collector<WebhookDelivery>();
  const held = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const timestamp = Number(req.headers[HOOK_TIMESTAMP_HEADER]);
      const expected = signatureHeaders([secret], text, timestamp * 1000)[HOOK_SIGNATURE_HEADER]!;
      const signed =
        Number.isInteger(timestamp) &&
        String(req.headers[HOOK_SIGNATURE_HEADER] ?? '')
          .split(',')
          .includes(expected);
      let events: WebhookEvent[] = [];
      try {
        events = (JSON.parse(text) as { events: WebhookEvent[] }).events;
      } catch {
        // recorded with no events
      }
      const delivery: WebhookDelivery = { events, signed, at: performance.now() };
      const answer = signed ? decide(delivery) : 401;
      if (answer !== 'hold') delivery.status = answer;
      deliveries.push(delivery);
      if (answer === 'hold') {
        held.add(res);
        res.on('close', () => held.delete(res));
        return;
      }
      res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer >= 300 ? 'the app failed' : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    deliveries,
    delivered: () =>
      deliveries.items.filter((d) => d.status !== undefined && d.status >= 200 && d.status < 300).flatMap((d) => d.events.map((e) => e.id)),
    answer(next) {
      decide = next;
    },
    releaseHeld() {
      for (const res of held) res.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
