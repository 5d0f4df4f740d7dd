import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';
import { REQUEST_LIMIT_DEFAULTS, requestLimitsFor } from './start.js';

const limitsOf = (requests: unknown): unknown => loadConfig({ env: {}, flags: { limits: { requests } } }).config.limits.requests;

describe('limits.requests', () => {
  it('takes {perSecond, burst} or null per kind and scope', () => {
    const requests = { poll: { perIp: { perSecond: 2.5, burst: 5 }, perUser: null }, ticket: { perUser: { perSecond: 1, burst: 1 } } };
    expect(limitsOf(requests)).toEqual(requests);
  });

  it('refuses unknown kinds and fields and values out of range, naming each', () => {
    expect(() => limitsOf({ presence: { perIp: null } })).toThrow(ConfigError);
    expect(() => limitsOf({ poll: { perIp: { perSecond: 0, burst: 1 } } })).toThrow(/limits\.requests\.poll\.perIp\.perSecond/);
    expect(() => limitsOf({ poll: { perIp: { perSecond: 1, burst: 0.5 } } })).toThrow(/limits\.requests\.poll\.perIp\.burst/);
    expect(() => limitsOf({ poll: { perIp: { perSecond: 1 } } })).toThrow(/limits\.requests\.poll\.perIp\.burst/);
    expect(() => limitsOf({ poll: { perAddress: null } })).toThrow(/limits\.requests\.poll/);
  });

  it('the dev profile limits nothing; production has its defaults; a configured limit replaces one, null removes it', () => {
    const none = { perIp: null, perUser: null };
    expect(requestLimitsFor('dev', undefined)).toEqual({ publish: none, poll: none, history: none, ticket: none });
    expect(requestLimitsFor('production', undefined)).toEqual(REQUEST_LIMIT_DEFAULTS.production);
    const own = { perSecond: 1000, burst: 2000 };
    const mixed = requestLimitsFor('production', { poll: { perIp: own }, history: { perUser: null } });
    expect(mixed.poll).toEqual({ perIp: own, perUser: REQUEST_LIMIT_DEFAULTS.production.poll!.perUser });
    expect(mixed.history).toEqual({ perIp: REQUEST_LIMIT_DEFAULTS.production.history!.perIp, perUser: null });
    expect(requestLimitsFor('dev', { publish: { perUser: own } }).publish).toEqual({ perIp: null, perUser: own });
  });

  it('docs/operations.md gives the production defaults the code has', () => {
    const doc = readFileSync(new URL('../../../docs/operations.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('\n### Request rate limits\n'));
    const rate = (cell: string): { perSecond: number; burst: number } => {
      const match = /^(\d+(?:\.\d+)?)\/s, burst (\d+)$/.exec(cell);
      expect(match, cell).not.toBeNull();
      return { perSecond: Number(match![1]), burst: Number(match![2]) };
    };
    for (const kind of ['publish', 'poll', 'history', 'ticket'] as const) {
      const line = section.split('\n').find((l) => l.startsWith(`| \`${kind}\` |`));
      expect(line, kind).toBeDefined();
      const cells = line!.split(' | ').map((cell) => cell.replace(/^\| |\|$/g, '').trim());
      expect({ perIp: rate(cells[2]!), perUser: rate(cells[3]!) }, kind).toEqual(REQUEST_LIMIT_DEFAULTS.production[kind]);
      expect(cells[4]).toBe('none');
    }
  });
});
