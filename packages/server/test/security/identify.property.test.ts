import type { IncomingMessage } from 'node:http';
import { ErrorCode } from '@herald/protocol';
import { HeraldError, JwtAuthenticator, Security, systemClock } from '@herald/server';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { guardSuite, HS_SECRET, remember, tokenFor } from './suite.js';

/**
 * Properties of `Security.identify`, the parser every request and upgrade goes through: whatever
 * the Authorization, Cookie, X-Herald-Key headers and query string, it answers an identity or
 * rejects with a HeraldError of code 2000 (never another error, never a throw of something else),
 * never authenticates garbage, and finds a valid token wherever it sits among other cookies.
 */

guardSuite();

const API_KEY = remember('property-test-api-key-0123456789');
const security = new Security({ authenticator: new JwtAuthenticator({ secret: HS_SECRET }), apiKeys: [API_KEY] }, systemClock);
let alice: string;

beforeAll(async () => {
  alice = await tokenFor('alice');
});

const fakeRequest = (headers: Record<string, string | undefined>): IncomingMessage => {
  const present = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined));
  return { headers: present } as unknown as IncomingMessage;
};

/** Any string, biased towards the shapes the parser looks for. */
const headerValue = (prefixes: string[]): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.tuple(fc.constantFrom(...prefixes), fc.string({ unit: 'binary' })).map(([p, s]) => p + s),
    fc
      .array(fc.constantFrom('.', '=', ';', '%', '%E0%A4%A', ' ', '\t', 'Bearer ', 'herald_token=', 'eyJ', 'a', 'ticket=', '\u0000'), {
        maxLength: 40,
      })
      .map((parts) => parts.join('')),
  );

const optional = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arbitrary, { nil: undefined });

describe('Security.identify', () => {
  it('answers anonymous or rejects with a HeraldError 2000, whatever the headers and query', async () => {
    await fc.assert(
      fc.asyncProperty(
        optional(headerValue(['Bearer ', 'bearer\t', 'Basic ', 'Bearer  x.y.z'])),
        optional(headerValue(['herald_token=', 'a=b; herald_token=', 'herald_token'])),
        optional(headerValue([API_KEY.slice(0, -1), `${API_KEY} `, ''])),
        headerValue(['ticket=', 'token=', 'access_token=', 'ticket=&ticket=', '?']),
        async (authorization, cookie, key, query) => {
          const req = fakeRequest({ authorization, cookie, 'x-herald-key': key });
          let outcome: Awaited<ReturnType<Security['identify']>> | undefined;
          try {
            outcome = await security.identify(req, new URLSearchParams(query));
          } catch (error) {
            expect(error).toBeInstanceOf(HeraldError);
            expect((error as HeraldError).wireCode).toBe(ErrorCode.Unauthorized);
            return;
          }
          expect(outcome.identity.authenticated).toBe(false);
          expect(outcome.source).toBe('none');
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('finds a valid token in the cookie among any other cookies, and in any casing and spacing of "Bearer"', async () => {
    const cookieName = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/).filter((name) => name !== 'herald_token');
    const otherCookie = fc.tuple(cookieName, fc.stringMatching(/^[^;]{0,20}$/)).map(([name, value]) => `${name}=${value}`);
    await fc.assert(
      fc.asyncProperty(
        fc.array(otherCookie, { maxLength: 6 }),
        fc.nat(),
        fc.constantFrom('Bearer', 'bearer', 'BEARER', 'bEaReR'),
        fc.stringMatching(/^[ \t]{1,3}$/),
        async (others, at, scheme, space) => {
          const cookies = [...others];
          cookies.splice(at % (others.length + 1), 0, `herald_token=${alice}`);
          const byCookie = await security.identify(fakeRequest({ cookie: cookies.join('; ') }), new URLSearchParams());
          expect(byCookie).toMatchObject({ source: 'cookie', identity: { user: 'alice', authenticated: true } });
          const byHeader = await security.identify(fakeRequest({ authorization: `${scheme}${space}${alice}` }), new URLSearchParams());
          expect(byHeader).toMatchObject({ source: 'header', identity: { user: 'alice', authenticated: true } });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('accepts the API key only exactly, and refuses any other value with 2000 (never anonymous)', async () => {
    expect((await security.identify(fakeRequest({ 'x-herald-key': API_KEY }), new URLSearchParams())).source).toBe('api-key');
    await fc.assert(
      fc.asyncProperty(headerValue([API_KEY, API_KEY.slice(0, 10)]), async (key) => {
        fc.pre(key !== API_KEY);
        await expect(
          security.identify(fakeRequest({ 'x-herald-key': key, authorization: `Bearer ${alice}` }), new URLSearchParams()),
        ).rejects.toEqual(expect.objectContaining({ wireCode: ErrorCode.Unauthorized, message: 'the API key is not valid' }));
      }),
      { numRuns: 500 },
    );
  });
});
