import { describe, expect, it } from 'vitest';
import { describeEngine, parseEngine } from '../src/engine.js';

describe('parseEngine', () => {
  it.each([
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
    ['rediss://u:secret@redis.example:6380/2', 'rediss://u:***@redis.example:6380/2'],
    ['redis-cluster://10.0.0.1:7000,10.0.0.2:7001,10.0.0.3:7002', 'redis-cluster://10.0.0.1:7000,10.0.0.2:7001,10.0.0.3:7002'],
    ['rediss-cluster://:p%40ss@node-a:7000,[::1]:7001', 'rediss-cluster://:***@node-a:7000,[::1]:7001'],
    ['redis-sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster', 'redis-sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster'],
    ['redis-sentinel://default:secret@s1:26379/mymaster', 'redis-sentinel://default:***@s1:26379/mymaster'],
  ])('takes %s, described as %s (no password)', (url, described) => {
    const spec = parseEngine(url);
    expect(spec).toEqual({ kind: 'redis', url });
    expect(describeEngine(spec)).toBe(described);
  });

  it.each([
    ['redis-cluster://', '"" in "redis-cluster://" is not host:port'],
    ['redis-cluster://a:7000,b:70000', '"b:70000" in "redis-cluster://a:7000,b:70000" is not host:port'],
    ['redis-cluster://a:7000/1', 'a Redis Cluster URL has no path'],
    ['redis-sentinel://a:26379', 'a Redis Sentinel URL ends with /<master-name>'],
    ['redis-sentinel://u:secret@a:26379/m/x', 'a Redis Sentinel URL ends with /<master-name>, got "redis-sentinel://u:***@a:26379/m/x"'],
    ['redis-clustr://u:secret@a:7000', 'unknown engine "redis-clustr://***@a:7000"'],
  ])('refuses %s: %s', (url, message) => {
    expect(() => parseEngine(url)).toThrow(RangeError);
    expect(() => parseEngine(url)).toThrow(message);
  });
});
