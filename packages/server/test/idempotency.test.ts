import { ErrorCode } from '@herald/protocol';
import { ManualClock, startTestHub, WsTestClient, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

const post = async (hub: TestHub, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> => {
  const res = await fetch(`${hub.url}/api/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
};

describe('idempotent publish', () => {
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
  });

  it('POST /api/publish: a repeated idempotencyKey stores nothing and answers the first position with duplicate: true', async () => {
    hub = await startTestHub();
    const first = await post(hub, { channel: 'orders', data: { id: 7 }, idempotencyKey: 'order-7' });
    expect(first).toEqual({ status: 200, body: { channel: 'orders', epoch: expect.any(String), offset: 1 } });
    const retry = await post(hub, { channel: 'orders', data: { id: 7 }, idempotencyKey: 'order-7' });
    expect(retry).toEqual({ status: 200, body: { ...first.body, duplicate: true } });
    // The same key in the header, as in the IETF Idempotency-Key draft.
    expect((await post(hub, { channel: 'orders', data: { id: 7 } }, { 'Idempotency-Key': 'order-7' })).body.duplicate).toBe(true);
    expect((await post(hub, { channel: 'orders', data: { id: 8 } }, { 'Idempotency-Key': 'order-8' })).body).toEqual({
      channel: 'orders',
      epoch: first.body.epoch,
      offset: 2,
    });
    const stored = (await (await fetch(`${hub.url}/api/messages?channel=orders`)).json()) as { messages: { data: unknown }[] };
    expect(stored.messages.map((m) => m.data)).toEqual([{ id: 7 }, { id: 8 }]);
  });

  it.each([
    [{ idempotencyKey: '' }, {}],
    [{ idempotencyKey: 'has space' }, {}],
    [{ idempotencyKey: 'x'.repeat(129) }, {}],
    [{ idempotencyKey: 42 }, {}],
    [{}, { 'Idempotency-Key': 'é' }],
  ])('refuses a bad key %j %j with 1005', async (field, headers) => {
    hub = await startTestHub();
    const answer = await post(hub, { channel: 'c', data: 1, ...field }, headers);
    expect(answer).toEqual({
      status: 400,
      body: { error: { code: ErrorCode.InvalidField, message: 'idempotencyKey must be 1-128 printable ASCII characters without spaces' } },
    });
  });

  it('refuses a header and a body field that differ', async () => {
    hub = await startTestHub();
    const answer = await post(hub, { channel: 'c', data: 1, idempotencyKey: 'a' }, { 'Idempotency-Key': 'b' });
    expect(answer).toEqual({
      status: 400,
      body: { error: { code: ErrorCode.InvalidField, message: 'the Idempotency-Key header and idempotencyKey differ' } },
    });
  });

  it('refuses a key reused for different data on the channel, storing nothing', async () => {
    hub = await startTestHub();
    await post(hub, { channel: 'c', data: 'first', idempotencyKey: 'k' });
    expect(await post(hub, { channel: 'c', data: 'second', idempotencyKey: 'k' })).toEqual({
      status: 400,
      body: { error: { code: ErrorCode.InvalidField, message: 'idempotencyKey was already used for different data on this channel' } },
    });
    const stored = (await (await fetch(`${hub.url}/api/messages?channel=c`)).json()) as { messages: { data: unknown }[] };
    expect(stored.messages.map((m) => m.data)).toEqual(['first']);
  });

  it('keys belong to their publisher: the same key from another publisher stores its message', async () => {
    hub = await startTestHub({ security: { apiKeys: ['k'.repeat(32)] } });
    const anonymous = await post(hub, { channel: 'c', data: 1, idempotencyKey: 'shared' });
    const backend = await post(hub, { channel: 'c', data: 1, idempotencyKey: 'shared' }, { 'X-Herald-Key': 'k'.repeat(32) });
    expect([anonymous.body.offset, backend.body.offset]).toEqual([1, 2]);
    expect(backend.body.duplicate).toBeUndefined();
    expect((await post(hub, { channel: 'c', data: 1, idempotencyKey: 'shared' }, { 'X-Herald-Key': 'k'.repeat(32) })).body).toMatchObject({
      offset: 2,
      duplicate: true,
    });
  });

  it('takes a quoted Idempotency-Key header as the key inside the quotes, and a null field as no key', async () => {
    hub = await startTestHub();
    await post(hub, { channel: 'c', data: 1, idempotencyKey: 'q-1' });
    expect((await post(hub, { channel: 'c', data: 1 }, { 'Idempotency-Key': '"q-1"' })).body.duplicate).toBe(true);
    expect((await post(hub, { channel: 'c', data: 1, idempotencyKey: null })).body).toMatchObject({ offset: 2 });
  });

  it('WebSocket publish: the same, and a bad key is an error reply', async () => {
    hub = await startTestHub();
    const ws = await WsTestClient.connect(hub.wsUrl);
    const first = await ws.request({ type: 'publish', channel: 'chat', data: 'hi', idempotencyKey: 'm-1' });
    expect(first).toMatchObject({ type: 'reply', channel: 'chat', offset: 1 });
    expect(first.duplicate).toBeUndefined();
    const retry = await ws.request({ type: 'publish', channel: 'chat', data: 'hi', idempotencyKey: 'm-1' });
    expect(retry).toMatchObject({ channel: 'chat', epoch: first.epoch, offset: 1, duplicate: true });
    expect((await ws.request({ type: 'publish', channel: 'chat', data: 'hi', idempotencyKey: ' ' })).error.code).toBe(
      ErrorCode.InvalidField,
    );
    await ws.close();
  });

  it('forgets a key after idempotencyTtl', async () => {
    const clock = new ManualClock(1_800_000_000_000);
    hub = await startTestHub({ idempotencyTtl: 60, clock });
    await post(hub, { channel: 'c', data: 1, idempotencyKey: 'k' });
    clock.advance(59_000);
    expect((await post(hub, { channel: 'c', data: 1, idempotencyKey: 'k' })).body.duplicate).toBe(true);
    clock.advance(2_000);
    expect((await post(hub, { channel: 'c', data: 1, idempotencyKey: 'k' })).body).toEqual({
      channel: 'c',
      epoch: expect.any(String),
      offset: 2,
    });
  });
});
