import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Collector } from '@herald/testkit';

/** One webhook request a {@link WebhookReceiver} got: what `pusher.webhook(...)` takes, and the status answered. */
export interface ReceivedWebhook {
  readonly headers: IncomingHttpHeaders & Record<string, string>;
  readonly rawBody: string;
  readonly status: number;
}

/** A real `node:http` app receiving Pusher webhooks on 127.0.0.1 at port 0. */
export interface WebhookReceiver {
  readonly url: string;
  readonly requests: Collector<ReceivedWebhook>;
  /** The status of each next request (then 200). */
  answerNext(...statuses: number[]): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const requests = new Collector<ReceivedWebhook>();
  const next: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const status = next.shift() ?? 200;
      requests.push({ headers: req.headers as ReceivedWebhook['headers'], rawBody: Buffer.concat(chunks).toString('utf8'), status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'failed');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/pusher/webhooks`,
    requests,
    answerNext: (...statuses) => next.push(...statuses),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
