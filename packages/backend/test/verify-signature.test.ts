import { createHmac } from 'node:crypto';
import type { HookRequest, WebhookBatch } from '@herald/protocol';
import { signatureHeaders } from '@herald/server';
import { describe, expect, it } from 'vitest';
import {
  HeraldWebhookError,
  verifyHook,
  verifySignature,
  verifyWebhook,
  type HeraldWebhookErrorCode,
  type VerifyOptions,
} from '../src/index.js';

const NOW = 1_700_000_000_000;
const at = (ms: number): VerifyOptions => ({ now: () => ms });
const SECRET = 'app-secret';

const hook: HookRequest = {
  id: 'h1',
  hook: 'subscribe',
  time: NOW,
  transport: 'websocket',
  client: 'c1',
  user: 'alice',
  channel: 'room:é🎉',
};
const batch: WebhookBatch = {
  events: [
    { id: 'e1', type: 'channel_occupied', time: NOW, channel: 'room:1' },
    { id: 'e2', type: 'presence_join', time: NOW, channel: 'room:1', user: null, client: 'c2' },
  ],
};

/** A request as the hub sends it: the server's own signer over `body` at `ms`. */
function signed(body: string, secrets: readonly string[] = [SECRET], ms = NOW): { headers: Record<string, string>; body: string } {
  return { headers: { 'content-type': 'application/json', ...signatureHeaders(secrets, body, ms) }, body };
}

async function refusal(promise: Promise<unknown>): Promise<HeraldWebhookErrorCode> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(HeraldWebhookError);
  return (error as HeraldWebhookError).code;
}

describe('accepted: signed by the hub', () => {
  it('a fetch Request: verifyHook resolves with the typed hook request', async () => {
    const { headers, body } = signed(JSON.stringify(hook));
    const request = new Request('http://app.test/hooks', { method: 'POST', headers, body });
    const verified = await verifyHook(request, SECRET, at(NOW));
    expect(verified).toEqual(hook);
    expect(verified.hook === 'subscribe' && verified.channel).toBe('room:é🎉');
  });

  it("Node's header record and the body as raw bytes (express.raw): verifyWebhook resolves with the batch", async () => {
    const { headers, body } = signed(JSON.stringify(batch));
    const nodeHeaders: Record<string, string | string[] | undefined> = { ...headers, 'set-cookie': ['a=1', 'b=2'], 'x-absent': undefined };
    expect(await verifyWebhook({ headers: nodeHeaders, body: Buffer.from(body) }, SECRET, at(NOW))).toEqual(batch);
  });

  it('a Headers object with a string body, and a record whose names are not lowercase', async () => {
    const { headers, body } = signed(JSON.stringify(batch));
    expect(await verifyWebhook({ headers: new Headers(headers), body }, SECRET, at(NOW))).toEqual(batch);
    const upper = { 'Herald-Timestamp': headers['herald-timestamp'], 'HERALD-SIGNATURE': headers['herald-signature'] };
    expect(await verifyWebhook({ headers: upper, body }, SECRET, at(NOW))).toEqual(batch);
  });

  it('bytes of a Uint8Array view into a larger buffer (a pooled Buffer) are signed exactly', async () => {
    const { headers, body } = signed(JSON.stringify(hook));
    const bytes = new TextEncoder().encode(`xxxx${body}yyyy`);
    const view = bytes.subarray(4, bytes.length - 4);
    expect(await verifyHook({ headers, body: view }, SECRET, at(NOW))).toEqual(hook);
    expect(await verifyHook({ headers, body: view.slice().buffer }, SECRET, at(NOW))).toEqual(hook);
  });

  it('rotation: the hub signs with two secrets; an app holding either one, or both, accepts', async () => {
    const request = signed(JSON.stringify(hook), ['new-secret', 'old-secret']);
    expect(request.headers['herald-signature']).toMatch(/^v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    expect(await verifyHook(request, 'old-secret', at(NOW))).toEqual(hook);
    expect(await verifyHook(request, 'new-secret', at(NOW))).toEqual(hook);
    expect(await verifyHook(request, ['new-secret', 'old-secret'], at(NOW))).toEqual(hook);
    // the hub still on the old secret only, the app already holding both
    expect(await verifyHook(signed(JSON.stringify(hook), ['old-secret']), ['new-secret', 'old-secret'], at(NOW))).toEqual(hook);
  });

  it('within the tolerance either way (300 s by default, inclusive), and a custom tolerance', async () => {
    const request = signed(JSON.stringify(hook));
    expect(await verifyHook(request, SECRET, at(NOW + 300_000))).toEqual(hook);
    expect(await verifyHook(request, SECRET, at(NOW - 300_000))).toEqual(hook);
    expect(await verifyHook(request, SECRET, { now: () => NOW + 3_600_000, tolerance: 3600 })).toEqual(hook);
  });

  it('signatures of another scheme beside v1 are ignored', async () => {
    const { headers, body } = signed(JSON.stringify(hook));
    const mixed = { ...headers, 'herald-signature': `v2=abc, ${headers['herald-signature']!} ,junk` };
    expect(await verifyHook({ headers: mixed, body }, SECRET, at(NOW))).toEqual(hook);
  });

  it('verifySignature resolves with the verified body text', async () => {
    const body = '{"anything":"é"}';
    expect(await verifySignature(signed(body), SECRET, at(NOW))).toBe(body);
  });
});

describe('refused', () => {
  it('a tampered body: bad_signature', async () => {
    const { headers, body } = signed(JSON.stringify(hook));
    const tampered = body.replace('alice', 'mallory');
    expect(tampered).not.toBe(body);
    expect(await refusal(verifyHook({ headers, body: tampered }, SECRET, at(NOW)))).toBe('bad_signature');
    expect(await refusal(verifyHook({ headers, body: `${body} ` }, SECRET, at(NOW)))).toBe('bad_signature');
  });

  it('another secret: bad_signature', async () => {
    const request = signed(JSON.stringify(hook));
    expect(await refusal(verifyHook(request, 'wrong-secret', at(NOW)))).toBe('bad_signature');
    expect(await refusal(verifyHook(request, ['wrong-1', 'wrong-2'], at(NOW)))).toBe('bad_signature');
  });

  it('a signature over another timestamp: bad_signature', async () => {
    const { headers, body } = signed(JSON.stringify(hook));
    const moved = { ...headers, 'herald-timestamp': String(NOW / 1000 + 1) };
    expect(await refusal(verifyHook({ headers: moved, body }, SECRET, at(NOW)))).toBe('bad_signature');
  });

  it.each([
    ['no headers at all', {}],
    ['no herald-signature', { 'herald-signature': undefined }],
    ['no herald-timestamp', { 'herald-timestamp': undefined }],
    ['an empty herald-signature', { 'herald-signature': '' }],
    ['an empty herald-timestamp', { 'herald-timestamp': '  ' }],
  ])('%s: missing_signature', async (_, change) => {
    const request = signed(JSON.stringify(hook));
    const headers = Object.keys(change).length === 0 ? {} : { ...request.headers, ...change };
    expect(await refusal(verifyHook({ headers, body: request.body }, SECRET, at(NOW)))).toBe('missing_signature');
    expect(await refusal(verifyHook(new Request('http://app.test/', { method: 'POST', body: request.body }), SECRET, at(NOW)))).toBe(
      'missing_signature',
    );
  });

  it.each([
    ['a timestamp that is not a number', { 'herald-timestamp': 'yesterday' }],
    ['a timestamp in milliseconds with a fraction', { 'herald-timestamp': '1700000000.5' }],
    ['a negative timestamp', { 'herald-timestamp': '-1700000000' }],
    ['a signature without a scheme', { 'herald-signature': 'deadbeef' }],
    ['a v1 signature that is not 64 hex digits', { 'herald-signature': 'v1=zz' }],
    ['a v1 signature one digit short', { 'herald-signature': `v1=${'a'.repeat(63)}` }],
    ['only another scheme', { 'herald-signature': `v2=${'a'.repeat(64)}` }],
  ])('a malformed header (%s): bad_signature', async (_, change) => {
    const request = signed(JSON.stringify(hook));
    expect(await refusal(verifyHook({ headers: { ...request.headers, ...change }, body: request.body }, SECRET, at(NOW)))).toBe(
      'bad_signature',
    );
  });

  it('a genuine request outside the tolerance, older or from the future: stale_timestamp', async () => {
    const request = signed(JSON.stringify(hook));
    expect(await refusal(verifyHook(request, SECRET, at(NOW + 301_000)))).toBe('stale_timestamp');
    expect(await refusal(verifyHook(request, SECRET, at(NOW - 301_000)))).toBe('stale_timestamp');
    expect(await refusal(verifyHook(request, SECRET, { now: () => NOW + 11_000, tolerance: 10 }))).toBe('stale_timestamp');
  });

  it('a genuine body of the wrong kind or not JSON: bad_body', async () => {
    expect(await refusal(verifyWebhook(signed(JSON.stringify(hook)), SECRET, at(NOW)))).toBe('bad_body');
    expect(await refusal(verifyHook(signed(JSON.stringify(batch)), SECRET, at(NOW)))).toBe('bad_body');
    expect(await refusal(verifyHook(signed('not json'), SECRET, at(NOW)))).toBe('bad_body');
    expect(await refusal(verifyHook(signed('[1,2]'), SECRET, at(NOW)))).toBe('bad_body');
    expect(await refusal(verifyHook(signed(JSON.stringify({ ...hook, hook: 'unsubscribe' })), SECRET, at(NOW)))).toBe('bad_body');
    expect(await refusal(verifyWebhook(signed('{"events":[{"id":"e1"}]}'), SECRET, at(NOW)))).toBe('bad_body');
  });

  it('signed bytes that are not UTF-8: bad_body', async () => {
    const timestamp = String(NOW / 1000);
    const bytes = Uint8Array.from([0x7b, 0xff, 0x7d]);
    const hmac = createHmac('sha256', SECRET).update(`${timestamp}.`).update(bytes).digest('hex');
    const headers = { 'herald-timestamp': timestamp, 'herald-signature': `v1=${hmac}` };
    expect(await refusal(verifyHook({ headers, body: bytes }, SECRET, at(NOW)))).toBe('bad_body');
  });
});

describe('setup mistakes throw at once', () => {
  const request = signed(JSON.stringify(hook));

  it('a parsed body (express.json) is a TypeError naming express.raw', async () => {
    await expect(verifyHook({ headers: request.headers, body: hook as never }, SECRET, at(NOW))).rejects.toThrow(
      new TypeError(
        "body must be the raw body (a string or bytes), not a parsed object: with Express use express.raw({ type: 'application/json' }) on this route",
      ),
    );
  });

  it('a Request whose body was already read is a TypeError', async () => {
    const fetchRequest = new Request('http://app.test/', { method: 'POST', headers: request.headers, body: request.body });
    await fetchRequest.text();
    await expect(verifyHook(fetchRequest, SECRET, at(NOW))).rejects.toThrow(
      new TypeError('the Request body was already read: verify before reading it'),
    );
  });

  it.each([[''], [[]], [['ok', '']], [undefined]])('secret %j is a TypeError', async (secret) => {
    await expect(verifyHook(request, secret as never, at(NOW))).rejects.toThrow(
      new TypeError('secret must be a non-empty string or a non-empty array of them'),
    );
  });

  it.each([[-1], [Number.NaN], [Number.POSITIVE_INFINITY]])('tolerance %s is a RangeError', async (tolerance) => {
    await expect(verifyHook(request, SECRET, { tolerance })).rejects.toThrow(
      new RangeError('tolerance must be a finite number of seconds ≥ 0'),
    );
  });
});
