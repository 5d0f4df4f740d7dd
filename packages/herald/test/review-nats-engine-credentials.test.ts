import { describe, expect, it } from 'vitest';
import { describeEngine, parseEngine } from '../src/engine.js';

const SECRETS = ['s3/cret', 's3#cret', 's3cr@t', 's3?cret', 'alice'];

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}

describe('--engine nats:// with credentials (review 2)', () => {
  it('takes user:password@ (up to the last @ of an entry) and never shows it', () => {
    for (const url of [
      'nats://alice:s3/cret@h:4222',
      'nats://alice:s3#cret@h:4222',
      'nats://h:4222,alice:s3cr@t@h2:4222',
      'nats://alice:s3?cret@h:4222',
    ]) {
      const spec = parseEngine(url);
      expect(spec).toMatchObject({ kind: 'nats', url, replicas: 1, prefix: 'HERALD' });
      const shown = describeEngine(spec);
      for (const secret of SECRETS) expect(shown).not.toContain(secret);
    }
    expect(parseEngine('nats://alice:s3cret@h:4222,h2:4222?replicas=3')).toMatchObject({
      url: 'nats://alice:s3cret@h:4222,h2:4222',
      replicas: 3,
    });
  });

  it('errors about a malformed URL or option do not quote credentials', () => {
    for (const bad of [
      'nats://alice:s3/cret@h',
      'nats://alice:s3#cret@h:4222/x',
      'nats://h:4222,alice:s3cr@t@h2',
      'nats://alice:s3?cret@h:4222?replicas=9',
      'natz://alice:s3/cret@h:4222',
    ]) {
      const message = messageOf(() => parseEngine(bad));
      expect(message).not.toBe('');
      for (const secret of SECRETS) expect(message).not.toContain(secret);
    }
  });
});
