import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { resolveMercureConfig } from './mercure-config.js';

describe('resolveMercureConfig', () => {
  it('uses jwtKey for both roles, overridden per role', () => {
    const config = resolveMercureConfig({ jwtKey: 'k' });
    expect(config.publisher.algorithm).toBe('HS256');
    expect(config.subscriber?.algorithm).toBe('HS256');
    expect(config.anonymous).toBe(false);
    expect(config.subscriptions).toBe(false);
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const split = resolveMercureConfig({ publisherJwtKey: 'p', subscriberJwtKey: pem, subscriberJwtAlgorithm: 'ES256' });
    expect(split.subscriber?.algorithm).toBe('ES256');
    expect(resolveMercureConfig({ publisherJwtKey: 'p', anonymous: true }).subscriber).toBeUndefined();
  });

  it('refuses bad options with exact messages', () => {
    expect(() => resolveMercureConfig({})).toThrow(new TypeError('mercure.publisherJwtKey or mercure.jwtKey is required'));
    expect(() => resolveMercureConfig({ publisherJwtKey: 'p' })).toThrow(
      new TypeError('mercure.subscriberJwtKey or mercure.jwtKey is required unless mercure.anonymous is true'),
    );
    expect(() => resolveMercureConfig({ jwtKey: '' })).toThrow(new TypeError('mercure.jwtKey must be a non-empty string'));
    expect(() => resolveMercureConfig({ jwtKey: 'k', jwtAlgorithm: 'none' as never })).toThrow(
      new RangeError('mercure.jwtAlgorithm must be one of HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384, ES512'),
    );
    expect(() => resolveMercureConfig({ jwtKey: 'k', jwtAlgorithm: 'RS256' })).toThrow(
      new TypeError('mercure.jwtKey must be a PEM public key for RS256'),
    );
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ec = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => resolveMercureConfig({ jwtKey: ec, jwtAlgorithm: 'RS256' })).toThrow(
      new TypeError('mercure.jwtKey must be a PEM public key for RS256'),
    );
    expect(() => resolveMercureConfig({ jwtKey: 'k', anonymous: 'yes' as never })).toThrow(
      new TypeError('mercure.anonymous must be a boolean'),
    );
  });
});
