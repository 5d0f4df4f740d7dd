import type { HeraldServerOptions } from '@herald/server';
import { startTestHub, type TestHub } from '@herald/testkit';
import Pusher from 'pusher';

/** The Pusher apps of these tests' hubs. */
export const APP = { id: 'app1', key: 'app1-key', secret: 'app1-secret-0123456789' } as const;
export const OTHER_APP = { id: 'app2', key: 'app2-key', secret: 'app2-secret-0123456789' } as const;

/** A hub with the two Pusher apps (memory engine unless given). */
export function startPusherHub(options: HeraldServerOptions = {}): Promise<TestHub> {
  return startTestHub({ pusher: { apps: [APP, OTHER_APP] }, ...options });
}

/** The real `pusher` server SDK pointed at `hub` as app `app` (its key and secret unless overridden). */
export function sdkFor(hub: TestHub, app: { id: string; key: string; secret: string } = APP): Pusher {
  return new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(hub.port), useTLS: false });
}

/** The status and text of the error the SDK rejected with (a `Pusher.RequestError`). */
export async function refusal(promise: Promise<unknown>): Promise<{ status: number; body: string }> {
  try {
    await promise;
  } catch (error) {
    const { status, body } = error as { status?: number; body?: string };
    return { status: status ?? 0, body: body ?? String(error) };
  }
  throw new Error('the request was not refused');
}

/** `pusher.post` of a JSON body (the SDK serialises it; its typings say string). */
export function postJson(pusher: Pusher, path: string, body: unknown): Promise<unknown> {
  return pusher.post({ path, body: body as string });
}
