import { checkRedisUrl } from '@herald/redis';
import { describe, expect, it } from 'vitest';

describe('redis-sentinel:// master names', () => {
  it('a master name that is not valid percent-encoding is a RangeError naming the URL without its password', () => {
    const url = 'redis-sentinel://app:s3cret@127.0.0.1:26379,127.0.0.1:26380/my%E0%A4master';
    let thrown: unknown;
    try {
      checkRedisUrl(url);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RangeError);
    const message = (thrown as Error).message;
    expect(message).toContain('redis-sentinel://app:***@127.0.0.1:26379,127.0.0.1:26380/my%E0%A4master');
    expect(message).toContain('master name');
    expect(message).not.toContain('s3cret');
    expect(() => checkRedisUrl('redis-sentinel://127.0.0.1:26379/my%zzmaster')).toThrow(RangeError);
  });

  it('a percent-encoded master name is still decoded', () => {
    expect(() => checkRedisUrl('redis-sentinel://127.0.0.1:26379/my%20master')).not.toThrow();
  });
});
