import { randomBytes } from 'node:crypto';
import { DEFAULT_MAX_BATCH_MESSAGES, ErrorCode } from '@herald/protocol';
import { Permissions, type HeraldServerOptions } from '@herald/server';
import { afterEach, describe, expect, it } from 'vitest';
import type { TestHub } from './test-hub.js';

/** Starts a hub with the given options on the engine under test (a fresh key space is not needed: channels are unique). */
export type BatchHubStarter = (options: HeraldServerOptions) => Promise<TestHub>;

interface Answer {
  readonly status: number;
  readonly body: any;
}

async function post(hub: TestHub, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${hub.url}/api/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function stored(hub: TestHub, channel: string, headers: Record<string, string> = {}): Promise<{ offset: number; data: unknown }[]> {
  const res = await fetch(`${hub.url}/api/history?channel=${encodeURIComponent(channel)}`, { headers });
  const body = (await res.json()) as { messages: { offset: number; data: unknown }[] };
  return body.messages.map(({ offset, data }) => ({ offset, data }));
}

const API_KEY = 'batch-contract-api-key-0123456789';

/**
 * The batch publish contract (`POST /api/publish` with `{"messages": […]}`): every engine's hub must
 * answer it the same way. `start` builds a hub on the engine with the given server options.
 */
export function runBatchPublishContract(name: string, start: BatchHubStarter): void {
  describe(`batch publish: ${name}`, () => {
    const hubs: TestHub[] = [];
    const hub = async (options: HeraldServerOptions = {}): Promise<TestHub> => {
      const started = await start(options);
      hubs.push(started);
      return started;
    };
    const run = randomBytes(4).toString('hex');
    let counter = 0;
    const channel = (namespace = 'b'): string => `${namespace}:${run}-${(counter++).toString(36)}`;
    afterEach(async () => {
      await Promise.all(hubs.splice(0).map((h) => h.close()));
    });

    it('answers one position per message in array order; offsets of a channel follow the array', async () => {
      const h = await hub();
      const [a, b, c] = [channel(), channel(), channel()];
      // Interleaved channels: each channel's messages must be stored in the order they appear.
      const messages = Array.from({ length: 60 }, (_, i) => ({ channel: [a, b, c][i % 3]!, data: { i } }));
      const answer = await post(h, { messages });
      expect(answer.status).toBe(200);
      const epochs = new Map<string, string>();
      expect(answer.body.results).toHaveLength(60);
      answer.body.results.forEach((result: any, i: number) => {
        expect(result).toEqual({ channel: messages[i]!.channel, epoch: expect.any(String), offset: Math.floor(i / 3) + 1 });
        expect(epochs.get(result.channel) ?? result.epoch).toBe(result.epoch);
        epochs.set(result.channel, result.epoch);
      });
      for (const [k, ch] of [a, b, c].entries()) {
        expect(await stored(h, ch)).toEqual(Array.from({ length: 20 }, (_, j) => ({ offset: j + 1, data: { i: j * 3 + k } })));
      }
    });

    it('a bad entry gets {index, error} and does not stop the others', async () => {
      const h = await hub();
      const ch = channel();
      const answer = await post(h, {
        messages: [
          { channel: ch, data: 'first' },
          { channel: 'bad channel', data: 1 },
          { channel: ch },
          'not an object',
          { channel: ch, data: 2, idempotencyKey: 'has space' },
          { channel: ch, data: null },
          { data: 3 },
        ],
      });
      expect(answer.status).toBe(200);
      const epoch = answer.body.results[0].epoch;
      expect(answer.body.results).toEqual([
        { channel: ch, epoch, offset: 1 },
        { index: 1, error: { code: ErrorCode.InvalidChannel, message: expect.any(String) } },
        { index: 2, error: { code: ErrorCode.InvalidField, message: 'a batch message needs a data field' } },
        { index: 3, error: { code: ErrorCode.InvalidFrame, message: 'a batch message must be a JSON object {"channel", "data"}' } },
        {
          index: 4,
          error: { code: ErrorCode.InvalidField, message: 'idempotencyKey must be 1-128 printable ASCII characters without spaces' },
        },
        { channel: ch, epoch, offset: 2 },
        { index: 6, error: { code: ErrorCode.InvalidChannel, message: expect.any(String) } },
      ]);
      expect(await stored(h, ch)).toEqual([
        { offset: 1, data: 'first' },
        { offset: 2, data: null },
      ]);
    });

    it('checks publish permission per entry, for the publisher of the request', async () => {
      const rules = { subscribe: 'anonymous', publish: 'anonymous', history: 'anonymous', presence: 'anonymous' } as const;
      const permissions = new Permissions({
        open: rules,
        members: { ...rules, publish: 'authenticated' },
        locked: { ...rules, publish: 'none' },
      });
      const h = await hub({ security: { permissions, apiKeys: [API_KEY] } });
      const [open, members, locked] = [channel('open'), channel('members'), channel('locked')];
      const messages = [
        { channel: open, data: 1 },
        { channel: members, data: 2 },
        { channel: locked, data: 3 },
        { channel: open, data: 4 },
      ];
      const anonymous = await post(h, { messages });
      expect(anonymous.status).toBe(200);
      expect(anonymous.body.results).toEqual([
        { channel: open, epoch: expect.any(String), offset: 1 },
        { index: 1, error: { code: ErrorCode.Unauthorized, message: `publish on ${members} needs a token` } },
        { index: 2, error: { code: ErrorCode.Forbidden, message: `publish on ${locked} is not allowed` } },
        { channel: open, epoch: expect.any(String), offset: 2 },
      ]);
      expect(await stored(h, members)).toEqual([]);
      expect(await stored(h, locked)).toEqual([]);
      // The API key may publish everywhere: the same batch is stored whole.
      const backend = await post(h, { messages }, { 'X-Herald-Key': API_KEY });
      expect(backend.body.results.map((r: any) => [r.channel, r.offset])).toEqual([
        [open, 3],
        [members, 1],
        [locked, 1],
        [open, 4],
      ]);
    });

    it('idempotency keys work per entry: a resent batch stores nothing, keys are shared with single publishes', async () => {
      const h = await hub();
      const [a, b] = [channel(), channel()];
      const messages = [
        { channel: a, data: 'a1', idempotencyKey: 'k1' },
        { channel: b, data: 'b1', idempotencyKey: 'k1' },
        { channel: a, data: 'a2', idempotencyKey: 'k2' },
        // The same key again on the same channel in the same batch: the earlier entry's position.
        { channel: a, data: 'a1', idempotencyKey: 'k1' },
        // The same key for other data: refused, nothing stored.
        { channel: a, data: 'other', idempotencyKey: 'k2' },
        { channel: a, data: 'a3' },
      ];
      const first = await post(h, { messages });
      const [ea, eb] = [first.body.results[0].epoch, first.body.results[1].epoch];
      expect(first.body.results).toEqual([
        { channel: a, epoch: ea, offset: 1 },
        { channel: b, epoch: eb, offset: 1 },
        { channel: a, epoch: ea, offset: 2 },
        { channel: a, epoch: ea, offset: 1, duplicate: true },
        {
          index: 4,
          error: { code: ErrorCode.InvalidField, message: 'idempotencyKey was already used for different data on this channel' },
        },
        { channel: a, epoch: ea, offset: 3 },
      ]);
      const resent = await post(h, { messages: messages.slice(0, 3) });
      expect(resent.body.results).toEqual([
        { channel: a, epoch: ea, offset: 1, duplicate: true },
        { channel: b, epoch: eb, offset: 1, duplicate: true },
        { channel: a, epoch: ea, offset: 2, duplicate: true },
      ]);
      expect(await post(h, { channel: a, data: 'a2', idempotencyKey: 'k2' })).toEqual({
        status: 200,
        body: { channel: a, epoch: ea, offset: 2, duplicate: true },
      });
      expect((await stored(h, a)).map((m) => m.data)).toEqual(['a1', 'a2', 'a3']);
      expect((await stored(h, b)).map((m) => m.data)).toEqual(['b1']);
    });

    it(`refuses more than maxBatchMessages (default ${DEFAULT_MAX_BATCH_MESSAGES}) with 1009, storing nothing`, async () => {
      const h = await hub();
      const ch = channel();
      const over = Array.from({ length: DEFAULT_MAX_BATCH_MESSAGES + 1 }, (_, i) => ({ channel: ch, data: i }));
      expect(await post(h, { messages: over })).toEqual({
        status: 400,
        body: { error: { code: ErrorCode.LimitExceeded, message: `at most ${DEFAULT_MAX_BATCH_MESSAGES} messages in one batch` } },
      });
      expect(await stored(h, ch)).toEqual([]);
      expect((await post(h, { messages: over.slice(1) })).body.results).toHaveLength(DEFAULT_MAX_BATCH_MESSAGES);

      const small = await hub({ maxBatchMessages: 2 });
      expect((await post(small, { messages: over.slice(0, 3) })).body).toEqual({
        error: { code: ErrorCode.LimitExceeded, message: 'at most 2 messages in one batch' },
      });
      expect((await post(small, { messages: over.slice(0, 2) })).status).toBe(200);
    });

    it('the body limit applies to the whole batch', async () => {
      const h = await hub({ maxBodyBytes: 1000 });
      const ch = channel();
      const messages = Array.from({ length: 5 }, () => ({ channel: ch, data: 'x'.repeat(190) }));
      const answer = await post(h, { messages });
      expect(answer).toEqual({ status: 413, body: { error: { code: ErrorCode.TooLarge, message: 'body is larger than 1000 bytes' } } });
      expect(await stored(h, ch)).toEqual([]);
    });

    it('counts JSON nesting from the body: data may nest 61 levels in a batch', async () => {
      const h = await hub();
      const ch = channel();
      const nested = (levels: number): unknown => JSON.parse('['.repeat(levels) + ']'.repeat(levels));
      expect((await post(h, { messages: [{ channel: ch, data: nested(61) }] })).body.results[0]).toMatchObject({ offset: 1 });
      expect(await post(h, { messages: [{ channel: ch, data: nested(62) }] })).toEqual({
        status: 400,
        body: { error: { code: ErrorCode.InvalidJson, message: 'JSON nests too deeply' } },
      });
    });

    it.each([
      ['messages not an array', { messages: { channel: 'x', data: 1 } }, {}, ErrorCode.InvalidField, 'messages must be an array'],
      ['no messages', { messages: [] }, {}, ErrorCode.InvalidField, 'messages must not be empty'],
      [
        'messages next to channel',
        { messages: [{ channel: 'x', data: 1 }], channel: 'x', data: 1 },
        {},
        ErrorCode.InvalidFrame,
        'a body has either messages (a batch) or channel and data',
      ],
      [
        'an Idempotency-Key header',
        { messages: [{ channel: 'x', data: 1 }] },
        { 'Idempotency-Key': 'k' },
        ErrorCode.InvalidField,
        'a batch takes no Idempotency-Key header: give each message its own idempotencyKey',
      ],
      [
        'a top-level idempotencyKey',
        { messages: [{ channel: 'x', data: 1 }], idempotencyKey: 'k' },
        {},
        ErrorCode.InvalidField,
        'a batch takes no top-level idempotencyKey: give each message its own idempotencyKey',
      ],
      ['invalid JSON', '{"messages": [', {}, ErrorCode.InvalidJson, 'body is not valid JSON'],
    ])('refuses a bad batch body (%s) with 400, storing nothing', async (_name, body, headers, code, message) => {
      const h = await hub();
      expect(await post(h, body, headers)).toEqual({ status: 400, body: { error: { code, message } } });
      expect(await stored(h, 'x')).toEqual([]);
    });
  });
}
