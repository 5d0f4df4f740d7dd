import { checkRedisUrl, redactUrl } from '@herald/redis';
import { describe, expect, it } from 'vitest';
import { parseRedisUrl } from '../src/redis-url.js';

const SENTINELS = '127.0.0.1:26379,127.0.0.1:26380';

/** The RangeError `url` is refused with (fails when it is accepted). */
const refusal = (url: string): string => {
  try {
    checkRedisUrl(url);
  } catch (error) {
    expect(error).toBeInstanceOf(RangeError);
    return (error as Error).message;
  }
  throw new Error(`accepted: ${url}`);
};

describe('redis-sentinel:// sentinel credentials (sentinelUsername, sentinelPassword)', () => {
  it('are read percent-decoded, apart from the data nodes’ user:password', () => {
    const target = parseRedisUrl(
      `redis-sentinel://app:data%40pw@${SENTINELS}/mymaster?sentinelUsername=watch&sentinelPassword=s%40nt%26%2B%3F+x`,
    );
    expect(target).toEqual({
      mode: 'sentinel',
      hosts: [
        { host: '127.0.0.1', port: 26379 },
        { host: '127.0.0.1', port: 26380 },
      ],
      tls: false,
      masterName: 'mymaster',
      username: 'app',
      password: 'data@pw',
      sentinelUsername: 'watch',
      // `+` is a plus (percent-encoding, not a form).
      sentinelPassword: 's@nt&+?+x',
    });
    const only = parseRedisUrl(`rediss-sentinel://${SENTINELS}/my%20master?sentinelPassword=pw`);
    expect(only).toMatchObject({ tls: true, masterName: 'my master', sentinelPassword: 'pw' });
    expect(only).not.toHaveProperty('sentinelUsername');
    expect(only).not.toHaveProperty('password');
    expect(parseRedisUrl(`redis-sentinel://${SENTINELS}/m`)).not.toHaveProperty('sentinelPassword');
  });

  it('an unknown, repeated, empty or badly encoded option is a RangeError that never quotes a value', () => {
    const cases: [string, string][] = [
      [`redis-sentinel://${SENTINELS}/m?sentinelPasword=topsecret`, 'got "sentinelPasword"'],
      [`redis-sentinel://${SENTINELS}/m?password=topsecret`, 'got "password"'],
      [`redis-sentinel://${SENTINELS}/m?topsecret`, 'an option it does not know'],
      [
        `redis-sentinel://${SENTINELS}/m?sentinelPassword=topsecret&sentinelPassword=topsecret`,
        'sentinelPassword option of a Redis Sentinel URL is given twice',
      ],
      [`redis-sentinel://${SENTINELS}/m?sentinelPassword=`, 'sentinelPassword option of a Redis Sentinel URL is empty'],
      [
        `redis-sentinel://${SENTINELS}/m?sentinelPassword=topsecret%zz`,
        'sentinelPassword option of a Redis Sentinel URL is not valid percent-encoding',
      ],
      [`redis-sentinel://${SENTINELS}/m?sentinelPassword=top@secret`, 'percent-encode it (as %40)'],
      [`redis-sentinel://u:topsecret@${SENTINELS}/m?sentinelPassword=top@secret`, 'percent-encode it (as %40)'],
      [`redis-sentinel://${SENTINELS}/m?sentinelPassword=topsecret#frag`, 'takes no fragment'],
      [`redis-cluster://${SENTINELS}?sentinelPassword=topsecret`, 'takes no query'],
    ];
    for (const [url, message] of cases) {
      const text = refusal(url);
      expect(text, url).toContain(message);
      expect(text, url).not.toContain('topsecret');
      expect(text, url).not.toContain('top@secret');
    }
    expect(refusal(`redis-sentinel://${SENTINELS}/m?sentinelPasword=x`)).toContain('sentinelUsername and sentinelPassword');
  });

  it('redactUrl hides the sentinel password (and every option but sentinelUsername) besides the data password', () => {
    expect(redactUrl(`redis-sentinel://app:datapw@${SENTINELS}/m?sentinelUsername=watch&sentinelPassword=s%40nt`)).toBe(
      `redis-sentinel://app:***@${SENTINELS}/m?sentinelUsername=watch&sentinelPassword=***`,
    );
    expect(redactUrl(`redis-sentinel://${SENTINELS}/m?sentinelPassword=sentpw`)).toBe(
      `redis-sentinel://${SENTINELS}/m?sentinelPassword=***`,
    );
    expect(redactUrl(`redis-sentinel://${SENTINELS}/m?sentinelPasword=sentpw&x`)).toBe(
      `redis-sentinel://${SENTINELS}/m?sentinelPasword=***&x`,
    );
    // A raw `@` in the value (refused by the parser) still leaves nothing of the password shown.
    for (const url of [
      `redis-sentinel://${SENTINELS}/m?sentinelPassword=se@ntpw`,
      `redis-sentinel://u:datapw@${SENTINELS}/m?sentinelPassword=se@ntpw`,
      `redis-sentinel://h/m?sentinelPassword=se:n@tpw`,
    ]) {
      const shown = redactUrl(url);
      expect(shown, url).toBe('redis-sentinel://(hidden: an option holds a raw "@")');
      for (const secret of ['datapw', 'se@', 'se:', 'ntpw', 'se:n']) expect(shown, url).not.toContain(secret);
    }
    // A password holding `?` in the data nodes' credentials stays hidden as before.
    expect(redactUrl(`redis-sentinel://u:pa?ss@${SENTINELS}/m`)).toBe(`redis-sentinel://u:***@${SENTINELS}/m`);
    expect(redactUrl(`redis-cluster://u:pw@${SENTINELS}`)).toBe(`redis-cluster://u:***@${SENTINELS}`);
  });
});
