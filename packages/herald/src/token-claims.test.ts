import { describe, expect, it } from 'vitest';
import { CliError } from './cli-error.js';
import { grantClaims, parseTtl } from './token-claims.js';

describe('parseTtl', () => {
  it.each([
    ['1', 1],
    ['90s', 90],
    ['15m', 900],
    ['1h', 3600],
    ['7d', 604_800],
    ['365d', 31_536_000],
  ])('reads %s as %i seconds', (text, seconds) => expect(parseTtl(text)).toBe(seconds));

  it.each(['0', '0s', '366d', '1y', '1.5h', '-1h', 'h', ''])('refuses %j', (text) => {
    expect(() => parseTtl(text)).toThrow(new CliError(`--ttl must be a duration from 1s to 365d (e.g. 90s, 15m, 1h, 7d), got "${text}"`));
  });
});

describe('grantClaims', () => {
  it('puts PATTERN=ops under herald.<op> and a bare pattern under channels', () => {
    expect(grantClaims(['chat:*=subscribe,publish', 'room:42', 'news:*=history', 'chat:1=publish'])).toEqual({
      channels: ['room:42'],
      herald: { subscribe: ['chat:*'], publish: ['chat:*', 'chat:1'], history: ['news:*'] },
    });
  });

  it('grants nothing without --grant', () => expect(grantClaims([])).toEqual({}));

  it('takes a channel name, the start of one with a single trailing *, or * alone', () =>
    expect(grantClaims(['chat:a*=publish', '*=subscribe', 'x'.repeat(255), 'a.b'])).toEqual({
      channels: ['x'.repeat(255), 'a.b'],
      herald: { publish: ['chat:a*'], subscribe: ['*'] },
    }));

  it.each([
    ['chat:*=read', '--grant "chat:*=read": "read" is not one of subscribe, publish, history, presence'],
    ['chat:*=', '--grant "chat:*=": "" is not one of subscribe, publish, history, presence'],
    ...['=subscribe', 'a b', 'a*b', 'chat:**', '**', '*chat', 'a..b', 'x'.repeat(256), 'a*b=publish'].map((grant): [string, string] => [
      grant,
      `--grant "${grant}": the pattern must be a channel name (chat:1) or the start of one followed by a single * (chat:*, or * for every channel)`,
    ]),
  ])('refuses %j', (grant, message) => expect(() => grantClaims([grant])).toThrow(new CliError(message)));
});
