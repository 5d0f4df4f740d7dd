import { SseTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { post, publisher, startMercureHub, subscribeUrl } from './mercure-helpers.js';

// Every update is matched against every template of every stream: a subscription brings at most 16
// expressions per template and 8192 characters of templates in all.

let hub: TestHub | undefined;
const opened: SseTestClient[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
  await hub?.close();
  hub = undefined;
});

async function open(url: string, topics: string[]): Promise<SseTestClient> {
  const client = await SseTestClient.connect(subscribeUrl(url, topics));
  opened.push(client);
  return client;
}

/** A refused subscription's status and text. */
async function refusal(url: string, topics: string[]): Promise<[number, string]> {
  const res = await fetch(subscribeUrl(url, topics));
  return [res.status, await res.text()];
}

describe('URI-template selector limits', () => {
  it('refuses a template of more than 16 expressions (400), serves 16', async () => {
    hub = await startMercureHub({ anonymous: true });
    const sixteen = `https://e.com/${'{+a}/'.repeat(16)}`;
    const seventeen = `https://e.com/${'{+a}/'.repeat(17)}`;
    expect(await refusal(hub.url, [seventeen])).toEqual([400, 'A URI template may have at most 16 expressions']);
    const served = await open(hub.url, [sixteen]);
    expect(served.response.statusCode).toBe(200);
    await served.ready();
    expect(
      (
        await post(
          hub.url,
          [
            ['topic', `https://e.com/${'x/'.repeat(16)}`],
            ['data', 'hit'],
          ],
          await publisher(),
        )
      ).status,
    ).toBe(200);
    await served.events.count(1);
    expect(served.events.items[0]!.data).toBe('hit');
  });

  it('refuses more than 8192 characters of templates in one subscription (400); exact topics do not count', async () => {
    hub = await startMercureHub({ anonymous: true });
    const template = (i: number): string => `https://e.com/${'p'.repeat(1500)}/${i}/{id}`;
    expect(await refusal(hub.url, [0, 1, 2, 3, 4, 5].map(template))).toEqual([
      400,
      'The URI templates of a subscription may have at most 8192 characters together',
    ]);
    const exact = Array.from({ length: 4 }, (_, i) => `https://e.com/${'p'.repeat(200)}/${i}`);
    const served = await open(hub.url, [...[0, 1, 2, 3, 4].map(template), ...exact]);
    expect(served.response.statusCode).toBe(200);
  });
});
