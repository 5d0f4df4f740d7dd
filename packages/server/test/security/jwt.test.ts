import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode } from '@herald/protocol';
import { WsTestClient, type TestHub } from '@herald/testkit';
import { exportJWK, exportSPKI, generateKeyPair, importPKCS8, type GenerateKeyPairResult, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JwtAuthenticator, Permissions } from '@herald/server';
import { b64json, bearer, guardSuite, HS_SECRET, remember, seconds, signToken, startHub } from './suite.js';
import { httpRequest, rawUpgrade } from './wire.js';

/**
 * JWT verification over real sockets: every refused token is refused on polling (401 JSON) and on the
 * WebSocket upgrade (401 before any 101) with the same code and reason; every accepted one is
 * accepted on both, so no refusal here passes by accident.
 */

guardSuite();

const AUDIENCE = 'herald';
const ISSUER = 'https://auth.example';
const permissions = new Permissions({
  members: { subscribe: 'authenticated', publish: 'authenticated', history: 'authenticated', presence: 'authenticated' },
});

/** Valid claims for alice, an hour long, with the configured audience and issuer. */
const claims = (extra: JWTPayload = {}): JWTPayload => ({
  sub: 'alice',
  aud: AUDIENCE,
  iss: ISSUER,
  exp: seconds(Date.now()) + 3600,
  ...extra,
});

/** `claims()` without one claim. */
const claimsWithout = (name: string): JWTPayload => Object.fromEntries(Object.entries(claims()).filter(([key]) => key !== name));

async function expectAccepted(hub: TestHub, token: string): Promise<void> {
  const polled = await httpRequest(`${hub.url}/api/history?channel=members:room`, { headers: bearer(token) });
  expect(polled.status).toBe(200);
  expect(polled.json).toMatchObject({ messages: [] });
  const upgrade = await rawUpgrade(hub.port, '/ws', bearer(token));
  expect(upgrade.status).toBe(101);
  upgrade.socket.destroy();
  await upgrade.closed;
}

async function expectRefused(hub: TestHub, token: string, message: string, code: number = ErrorCode.Unauthorized): Promise<void> {
  const polled = await httpRequest(`${hub.url}/api/history?channel=members:room`, { headers: bearer(token) });
  expect(polled.json).toEqual({ error: { code, message } });
  expect(polled.status).toBe(401);
  const upgrade = await rawUpgrade(hub.port, '/ws', bearer(token));
  expect(upgrade.status).toBe(401);
  expect(upgrade.head).not.toContain('101');
  expect(JSON.parse(upgrade.body)).toEqual({ error: { code, message } });
  await upgrade.closed;
}

/** A token by hand: any header, the payload, and the given signature (empty by default). */
const handMade = (header: object, payload: JWTPayload, signature = ''): string =>
  remember(`${b64json(header)}.${b64json(payload)}.${signature}`);

/** A local HTTP server that records every request; `/configured` serves `good`, anything else `evil`. */
interface Recorder {
  readonly url: string;
  readonly hits: string[];
  close(): Promise<void>;
}

async function startRecorder(good: { keys: JWK[] }, evil: { keys: JWK[] }, evilPem: string): Promise<Recorder> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    if (req.url === '/cert.pem') {
      res.writeHead(200, { 'Content-Type': 'application/x-pem-file' });
      res.end(evilPem);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(req.url === '/configured' ? good : evil));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('JWT verification', () => {
  let good: GenerateKeyPairResult;
  let evil: GenerateKeyPairResult;
  let goodPem: string;
  let goodJwk: JWK;
  let evilJwk: JWK;
  let recorder: Recorder;
  let hsHub: TestHub;
  let rsHub: TestHub;

  beforeAll(async () => {
    good = await generateKeyPair('RS256', { extractable: true });
    evil = await generateKeyPair('RS256', { extractable: true });
    goodPem = await exportSPKI(good.publicKey);
    goodJwk = { ...(await exportJWK(good.publicKey)), kid: 'good', alg: 'RS256', use: 'sig' };
    evilJwk = { ...(await exportJWK(evil.publicKey)), kid: 'evil', alg: 'RS256', use: 'sig' };
    recorder = await startRecorder({ keys: [goodJwk] }, { keys: [evilJwk] }, await exportSPKI(evil.publicKey));
    hsHub = await startHub({
      security: { authenticator: new JwtAuthenticator({ secret: HS_SECRET, audience: AUDIENCE, issuer: ISSUER }), permissions },
    });
    rsHub = await startHub({
      security: { authenticator: new JwtAuthenticator({ publicKey: goodPem, audience: AUDIENCE, issuer: ISSUER }), permissions },
    });
  });

  afterAll(async () => {
    await Promise.all([hsHub.close(), rsHub.close(), recorder.close()]);
  });

  it('accepts a well-formed HS256 token and a well-formed RS256 token (the refusals below are not vacuous)', async () => {
    await expectAccepted(hsHub, await signToken(claims()));
    await expectAccepted(rsHub, await signToken(claims(), { alg: 'RS256', key: good.privateKey }));
  });

  it.each(['none', 'None', 'NONE', 'nOnE'])('refuses alg "%s" (empty signature) on an HS hub and on an RS hub', async (alg) => {
    const token = handMade({ alg, typ: 'JWT' }, claims());
    await expectRefused(hsHub, token, 'token algorithm not allowed');
    await expectRefused(rsHub, token, 'token algorithm not allowed');
  });

  it('refuses a valid HS256 header with its signature stripped', async () => {
    const [header, payload] = (await signToken(claims())).split('.');
    await expectRefused(hsHub, remember(`${header}.${payload}.`), 'token signature is invalid');
  });

  it("refuses HS/RS confusion: an HS256 token whose HMAC secret is the hub's RSA public key PEM", async () => {
    const forged = await signToken(claims(), { alg: 'HS256', key: new TextEncoder().encode(goodPem) });
    await expectRefused(rsHub, forged, 'token algorithm not allowed');
    const strict = await startHub({
      security: { authenticator: new JwtAuthenticator({ publicKey: goodPem, algorithms: ['RS256'] }), permissions },
    });
    try {
      await expectRefused(strict, forged, 'token algorithm not allowed');
    } finally {
      await strict.close();
    }
  });

  it('refuses a token without exp', async () => {
    await expectRefused(hsHub, await signToken(claimsWithout('exp')), 'token exp check failed (missing)');
  });

  it('refuses a token expired beyond the leeway (5 s) and accepts one expired within it', async () => {
    await expectRefused(hsHub, await signToken(claims({ exp: seconds(Date.now()) - 30 })), 'token expired', ErrorCode.TokenExpired);
    await expectAccepted(hsHub, await signToken(claims({ exp: seconds(Date.now()) - 2 })));
  });

  it('refuses a token whose nbf lies in the future beyond the leeway', async () => {
    await expectRefused(hsHub, await signToken(claims({ nbf: seconds(Date.now()) + 60 })), 'token nbf check failed (check_failed)');
    await expectAccepted(hsHub, await signToken(claims({ nbf: seconds(Date.now()) + 2 })));
  });

  it('refuses a wrong or missing aud, and a wrong or missing iss', async () => {
    await expectRefused(hsHub, await signToken(claims({ aud: 'another-service' })), 'token aud check failed (check_failed)');
    await expectRefused(hsHub, await signToken(claimsWithout('aud')), 'token aud check failed (missing)');
    await expectRefused(hsHub, await signToken(claims({ iss: 'https://evil.example' })), 'token iss check failed (check_failed)');
    await expectRefused(hsHub, await signToken(claimsWithout('iss')), 'token iss check failed (missing)');
  });

  it('refuses a token signed with another secret, and garbage', async () => {
    await expectRefused(
      hsHub,
      await signToken(claims(), { key: new TextEncoder().encode('another secret of at least 32 bytes!!') }),
      'token signature is invalid',
    );
    await expectRefused(hsHub, remember('not.a.jwt-at-all'), 'token is malformed');
  });

  it('refuses a bad token in the auth command with 2000 and leaves the session anonymous', async () => {
    const client = await WsTestClient.connect(hsHub.wsUrl);
    try {
      const reply = await client.request({ type: 'auth', token: handMade({ alg: 'none' }, claims()) });
      expect(reply.error).toEqual({ code: ErrorCode.Unauthorized, message: 'token algorithm not allowed' });
      expect((await client.request({ type: 'subscribe', channel: 'members:room' })).error.code).toBe(ErrorCode.Unauthorized);
    } finally {
      await client.close();
    }
  });

  it('a 31-byte HMAC secret throws RangeError; 32 bytes are accepted; bytes, not characters, count', () => {
    expect(() => new JwtAuthenticator({ secret: 'x'.repeat(31) })).toThrow(new RangeError('the HMAC secret must be at least 32 bytes'));
    expect(() => new JwtAuthenticator({ secret: 'x'.repeat(32) })).not.toThrow();
    expect(() => new JwtAuthenticator({ secret: `${'é'.repeat(15)}x` })).toThrow(RangeError);
    expect(() => new JwtAuthenticator({ secret: 'é'.repeat(16) })).not.toThrow();
  });

  it('refuses options that mix key sources or algorithm families', () => {
    expect(() => new JwtAuthenticator({ secret: HS_SECRET, publicKey: goodPem })).toThrow(TypeError);
    expect(() => new JwtAuthenticator({})).toThrow(TypeError);
    expect(() => new JwtAuthenticator({ publicKey: goodPem, algorithms: ['HS256'] })).toThrow(TypeError);
    expect(() => new JwtAuthenticator({ secret: HS_SECRET, algorithms: ['RS256'] })).toThrow(TypeError);
    expect(() => new JwtAuthenticator({ secret: HS_SECRET, algorithms: [] })).toThrow(TypeError);
  });

  describe('jku, x5u and jwk headers are never followed', () => {
    const headersTo = (url: string, jwk: JWK) => ({ jku: `${url}/jwks.json`, x5u: `${url}/cert.pem`, jwk, kid: 'evil' });

    it("an attacker-signed RS256 token pointing at the attacker's keys is refused on every hub, and nothing is fetched", async () => {
      recorder.hits.length = 0;
      const { kty, n, e } = evilJwk;
      const forged = await signToken(claims(), {
        alg: 'RS256',
        key: evil.privateKey,
        header: headersTo(recorder.url, { kty: kty!, n: n!, e: e! }),
      });
      await expectRefused(rsHub, forged, 'token signature is invalid');
      await expectRefused(hsHub, forged, 'token algorithm not allowed');
      expect(recorder.hits).toEqual([]);
    });

    it('a token signed with the configured key is verified with that key even when its headers name others, and nothing is fetched', async () => {
      recorder.hits.length = 0;
      const { kty, n, e } = evilJwk;
      await expectAccepted(
        rsHub,
        await signToken(claims(), { alg: 'RS256', key: good.privateKey, header: headersTo(recorder.url, { kty: kty!, n: n!, e: e! }) }),
      );
      await expectAccepted(
        hsHub,
        await signToken(claims(), { header: { jku: `${recorder.url}/jwks.json`, x5u: `${recorder.url}/cert.pem` } }),
      );
      expect(recorder.hits).toEqual([]);
    });

    it("a JWKS configured inline verifies its keys and ignores the token's jku and jwk", async () => {
      recorder.hits.length = 0;
      const hub = await startHub({ security: { authenticator: new JwtAuthenticator({ jwks: { keys: [goodJwk] } }), permissions } });
      try {
        const { kty, n, e } = evilJwk;
        await expectAccepted(
          hub,
          await signToken(Object.fromEntries(Object.entries(claims()).filter(([key]) => key !== 'aud' && key !== 'iss')), {
            alg: 'RS256',
            key: good.privateKey,
            header: { kid: 'good', jku: `${recorder.url}/jwks.json` },
          }),
        );
        const forged = await signToken(claims(), {
          alg: 'RS256',
          key: evil.privateKey,
          header: headersTo(recorder.url, { kty: kty!, n: n!, e: e! }),
        });
        await expectRefused(hub, forged, 'no key matches the token');
        const forgedGoodKid = await signToken(claims(), {
          alg: 'RS256',
          key: evil.privateKey,
          header: { ...headersTo(recorder.url, { kty: kty!, n: n!, e: e! }), kid: 'good' },
        });
        await expectRefused(hub, forgedGoodKid, 'token signature is invalid');
      } finally {
        await hub.close();
      }
      expect(recorder.hits).toEqual([]);
    });

    it('a configured jwksUrl is the only URL ever fetched', async () => {
      recorder.hits.length = 0;
      const hub = await startHub({
        security: { authenticator: new JwtAuthenticator({ jwksUrl: `${recorder.url}/configured` }), permissions },
      });
      try {
        await expectAccepted(
          hub,
          await signToken(claims(), { alg: 'RS256', key: good.privateKey, header: { kid: 'good', jku: `${recorder.url}/jwks.json` } }),
        );
        const { kty, n, e } = evilJwk;
        await expectRefused(
          hub,
          await signToken(claims(), {
            alg: 'RS256',
            key: evil.privateKey,
            header: { ...headersTo(recorder.url, { kty: kty!, n: n!, e: e! }), kid: 'good' },
          }),
          'token signature is invalid',
        );
      } finally {
        await hub.close();
      }
      expect(recorder.hits.length).toBeGreaterThan(0);
      expect(new Set(recorder.hits)).toEqual(new Set(['GET /configured']));
    });
  });

  it('an EC (ES256) public key with the default algorithms verifies ES256 tokens', async () => {
    const ec = await generateKeyPair('ES256', { extractable: true });
    const hub = await startHub({
      security: { authenticator: new JwtAuthenticator({ publicKey: await exportSPKI(ec.publicKey) }), permissions },
    });
    try {
      await expectAccepted(hub, await signToken(claims(), { alg: 'ES256', key: ec.privateKey }));
    } finally {
      await hub.close();
    }
  });
});

describe('the algorithms a public key accepts', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const rsaPrivate = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const hubs: TestHub[] = [];

  afterAll(async () => {
    await Promise.all(hubs.map((hub) => hub.close()));
  });

  async function hubFor(options: { publicKey: string; algorithms?: string[] }): Promise<TestHub> {
    const hub = await startHub({
      security: { authenticator: new JwtAuthenticator({ ...options, audience: AUDIENCE, issuer: ISSUER }), permissions },
    });
    hubs.push(hub);
    return hub;
  }

  /** A token signed with the one RSA private key under `alg` (RS* or PS*). */
  const rsaToken = async (alg: string): Promise<string> => signToken(claims(), { alg, key: await importPKCS8(rsaPrivate, alg) });

  it('an RSA key accepts RS256 only by default (RS384, RS512, PS256…PS512 get 2000); algorithms ["RS512", "PS256"] accepts exactly those', async () => {
    const byDefault = await hubFor({ publicKey: rsaPem });
    await expectAccepted(byDefault, await rsaToken('RS256'));
    for (const alg of ['RS384', 'RS512', 'PS256', 'PS384', 'PS512'])
      await expectRefused(byDefault, await rsaToken(alg), 'token algorithm not allowed');
    const configured = await hubFor({ publicKey: rsaPem, algorithms: ['RS512', 'PS256'] });
    await expectAccepted(configured, await rsaToken('RS512'));
    await expectAccepted(configured, await rsaToken('PS256'));
    for (const alg of ['RS256', 'PS512']) await expectRefused(configured, await rsaToken(alg), 'token algorithm not allowed');
  });

  it('an EC P-384 key defaults to ES384; algorithms that do not fit the key, or a PEM that is not a key, throw TypeError', async () => {
    const ec = await generateKeyPair('ES384', { extractable: true });
    const ecPem = await exportSPKI(ec.publicKey);
    await expectAccepted(await hubFor({ publicKey: ecPem }), await signToken(claims(), { alg: 'ES384', key: ec.privateKey }));
    expect(() => new JwtAuthenticator({ publicKey: rsaPem, algorithms: ['RS256', 'ES256'] })).toThrow(
      new TypeError('algorithms ES256 do not fit the configured RSA public key (RS256, RS384, RS512, PS256, PS384, PS512)'),
    );
    expect(() => new JwtAuthenticator({ publicKey: ecPem, algorithms: ['ES256'] })).toThrow(
      new TypeError('algorithms ES256 do not fit the configured EC public key (ES384)'),
    );
    expect(() => new JwtAuthenticator({ publicKey: '-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----' })).toThrow(
      new TypeError('publicKey must be a PEM public key (SPKI)'),
    );
  });
});
