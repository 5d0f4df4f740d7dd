import { createHeraldServer, type HeraldServer, type HeraldServerOptions } from '@herald/server';

/** A hub on 127.0.0.1 at a free port, for tests. */
export interface TestHub {
  readonly server: HeraldServer;
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `ws://127.0.0.1:PORT/ws` */
  readonly wsUrl: string;
  close(): Promise<void>;
}

/** Starts a hub (memory engine unless `options.broker` is given) on a free port. */
export async function startTestHub(options: HeraldServerOptions = {}): Promise<TestHub> {
  const server = createHeraldServer(options);
  const port = await server.listen(0, '127.0.0.1');
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    close: () => server.close(),
  };
}

/** `POST /api/publish`; resolves with the status and parsed body. */
export async function publishHttp(url: string, channel: string, data: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/api/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });
  return { status: res.status, body: await res.json() };
}

/** `GET /api/messages` with the given query; resolves with the status and parsed body. */
export async function poll(url: string, query: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/api/messages?${query}`);
  return { status: res.status, body: await res.json() };
}
