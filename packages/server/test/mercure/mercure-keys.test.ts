import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { SseTestClient, startTestHub } from '@herald/testkit';
import { describe, expect, it } from 'vitest';
import { post, subscribe, subscribeUrl } from './mercure-helpers.js';

/** Separate publisher and subscriber keys, with public-key algorithms (ES256, RS256). */

describe('keys per role', () => {
  it('verifies an ES256 publisher and an RS256 subscriber, each with its own key only', async () => {
    const publisher = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const subscriber = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = (key: typeof publisher.publicKey): string => key.export({ type: 'spki', format: 'pem' }).toString();
    const hub = await startTestHub({
      mercure: {
        publisherJwtKey: pem(publisher.publicKey),
        publisherJwtAlgorithm: 'ES256',
        subscriberJwtKey: pem(subscriber.publicKey),
        subscriberJwtAlgorithm: 'RS256',
      },
    });
    const opened: SseTestClient[] = [];
    try {
      const pubJwt = await new SignJWT({ mercure: { publish: ['*'] } }).setProtectedHeader({ alg: 'ES256' }).sign(publisher.privateKey);
      const subJwt = await new SignJWT({ mercure: { subscribe: ['*'] } }).setProtectedHeader({ alg: 'RS256' }).sign(subscriber.privateKey);
      const sub = await subscribe(hub.url, ['urn:keys:1'], { authorization: `Bearer ${subJwt}` });
      opened.push(sub);
      expect(sub.response.statusCode).toBe(200);
      expect(
        (
          await post(
            hub.url,
            [
              ['topic', 'urn:keys:1'],
              ['data', 'signed'],
              ['private', 'on'],
            ],
            pubJwt,
          )
        ).status,
      ).toBe(200);
      expect((await sub.events.count(1))[0]!.data).toBe('signed');
      // Each key verifies its own role only.
      expect((await post(hub.url, [['topic', 'urn:keys:1']], subJwt)).status).toBe(401);
      const wrong = await SseTestClient.connect(subscribeUrl(hub.url, ['urn:keys:1']), { authorization: `Bearer ${pubJwt}` });
      opened.push(wrong);
      expect(wrong.response.statusCode).toBe(401);
    } finally {
      await Promise.all(opened.map((c) => c.close()));
      await hub.close();
    }
  });
});
