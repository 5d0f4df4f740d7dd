import { SignJWT } from 'jose';
import { SseTestClient, startTestHub, type TestHub } from '@herald/testkit';
import type { HeraldServerOptions } from '@herald/server';

export const KEY = 'mercure-test-key-0123456789-abcdefghij';

/** A hub with the Mercure door (key {@link KEY}, HS256) and `extra` options. */
export function startMercureHub(
  mercure: NonNullable<HeraldServerOptions['mercure']> = {},
  extra: HeraldServerOptions = {},
): Promise<TestHub> {
  return startTestHub({ ...extra, mercure: { jwtKey: KEY, ...mercure } });
}

/** A JWT signed with `key` carrying `mercure` (publish, subscribe, payload) and `exp` in `ttl` seconds. */
export function token(mercure: Record<string, unknown>, key = KEY, ttl = 3600): Promise<string> {
  return new SignJWT({ mercure })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttl)
    .sign(new TextEncoder().encode(key));
}

/** A publisher token allowed every topic. */
export const publisher = (): Promise<string> => token({ publish: ['*'] });

/** `POST /.well-known/mercure` with `fields` form-encoded; resolves with status, body and headers. */
export async function post(
  url: string,
  fields: [string, string][],
  jwt: string | undefined,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(`${url}/.well-known/mercure`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(jwt !== undefined && { authorization: `Bearer ${jwt}` }),
      ...headers,
    },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

/** The subscribe URL for `topics` plus `query`. */
export function subscribeUrl(url: string, topics: string[], query: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const topic of topics) params.append('topic', topic);
  for (const [name, value] of Object.entries(query)) params.append(name, value);
  return `${url}/.well-known/mercure?${params.toString()}`;
}

/** Opens a Mercure subscription and waits for its first id (the stream is live once it arrived). */
export async function subscribe(
  url: string,
  topics: string[],
  headers: Record<string, string> = {},
  query: Record<string, string> = {},
): Promise<SseTestClient> {
  const client = await SseTestClient.connect(subscribeUrl(url, topics, query), headers);
  if (client.response.statusCode === 200) await client.ready();
  return client;
}
