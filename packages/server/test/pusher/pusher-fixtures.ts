import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestHub, type TestHub } from '@herald/testkit';
import type { HeraldServerOptions } from '@herald/server';
import Pusher from 'pusher';
import pusherJs, { type Options as PusherJsOptions } from 'pusher-js';

/**
 * pusher-js's Node build: `module.exports` is the Pusher class itself (what a default import gives
 * at run time), while its types declare an ES module whose `default` is the class.
 */
export const PusherJs = pusherJs as unknown as typeof pusherJs.default;
/** A pusher-js client. */
export type PusherJs = InstanceType<typeof pusherJs.default>;

/** The app every Pusher test uses. */
export const APP = { id: 'app1', key: 'app1-key', secret: 'app1-secret' } as const;

/**
 * The app backend's auth endpoint, as a Laravel or Node app has it: channel authorization and user
 * authentication signed by the `pusher` server SDK. `presence` gives the presence data of a
 * socket's user (from the `user` form field the test client sends as a param).
 */
export interface AuthApp {
  readonly url: string;
  /** Answers with 403 while true. */
  deny: boolean;
  close(): Promise<void>;
}

export async function startAuthApp(secret: string = APP.secret): Promise<AuthApp> {
  const sdk = new Pusher({ appId: APP.id, key: APP.key, secret, cluster: 'mt1' });
  const app: { deny: boolean } = { deny: false };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      const socketId = form.get('socket_id') ?? '';
      const user = form.get('user') ?? 'u1';
      if (app.deny) {
        res.writeHead(403).end();
        return;
      }
      let answer: unknown;
      if (req.url?.startsWith('/user-auth') === true) {
        answer = sdk.authenticateUser(socketId, { id: user, name: `User ${user}` });
      } else {
        const channel = form.get('channel_name') ?? '';
        answer = channel.startsWith('presence-')
          ? sdk.authorizeChannel(socketId, channel, { user_id: user, user_info: { name: `User ${user}` } })
          : sdk.authorizeChannel(socketId, channel);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(app, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/** A hub with the Pusher door for {@link APP}. */
export function startPusherHub(
  options: HeraldServerOptions = {},
  pusher: Partial<NonNullable<HeraldServerOptions['pusher']>> = {},
): Promise<TestHub> {
  return startTestHub({ ...options, pusher: { apps: [APP], ...pusher } });
}

/** pusher-js options that reach `hub` over plain WebSocket (and `auth` for private, presence and sign-in). */
export function clientOptions(hub: TestHub, auth?: AuthApp, user = 'u1', extra: Partial<PusherJsOptions> = {}): PusherJsOptions {
  return {
    cluster: 'mt1',
    wsHost: '127.0.0.1',
    wsPort: hub.port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    ...(auth !== undefined && {
      channelAuthorization: { endpoint: `${auth.url}/auth`, transport: 'ajax', params: { user } },
      userAuthentication: { endpoint: `${auth.url}/user-auth`, transport: 'ajax', params: { user } },
    }),
    ...extra,
  };
}

/** The pusher-js clients a test opened, disconnected by {@link PusherClients.closeAll}. */
export class PusherClients {
  readonly #clients: PusherJs[] = [];

  /** A connected pusher-js client (resolves once `connected`). */
  async connect(options: PusherJsOptions, key: string = APP.key): Promise<PusherJs> {
    const client = this.open(options, key);
    await new Promise<void>((resolve, reject) => {
      client.connection.bind('connected', () => resolve());
      client.connection.bind('failed', () => reject(new Error('pusher-js failed to connect')));
    });
    return client;
  }

  /** A pusher-js client, not waited for. */
  open(options: PusherJsOptions, key: string = APP.key): PusherJs {
    const client = new PusherJs(key, options);
    this.#clients.push(client);
    return client;
  }

  closeAll(): void {
    for (const client of this.#clients.splice(0)) client.disconnect();
  }
}

/** Resolves once `channel` of `client` is subscribed (with the data of `pusher:subscription_succeeded`). */
export function subscribed(client: PusherJs, name: string): Promise<unknown> {
  const channel = client.subscribe(name);
  return new Promise((resolve, reject) => {
    channel.bind('pusher:subscription_succeeded', (data: unknown) => resolve(data));
    channel.bind('pusher:subscription_error', (error: unknown) => reject(new Error(`subscription_error ${JSON.stringify(error)}`)));
  });
}
