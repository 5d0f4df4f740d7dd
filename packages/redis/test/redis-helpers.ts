import { createClient } from '@redis/client';

/** The local Redis (see STACK.md); tests that stop Redis start their own instead. */
export const REDIS_URL = process.env['HERALD_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** Deletes every key under the given prefixes. */
export async function deleteKeys(url: string, prefixes: readonly string[]): Promise<void> {
  const client = createClient({ url });
  await client.connect();
  try {
    for (const prefix of prefixes) {
      for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
        if (keys.length > 0) await client.del(keys);
      }
    }
  } finally {
    client.destroy();
  }
}
