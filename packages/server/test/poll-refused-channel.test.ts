import { ErrorCode } from '@herald/protocol';
import { poll, startTestHub, type TestHub } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { refusedChannelPermissions } from './refused-channel-permissions.js';

const permissions = refusedChannelPermissions();

describe('polling: a refused channel among allowed ones', () => {
  let hub: TestHub | undefined;
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
  });

  it('refuses the poll whole and names the refused channel, so the others can be asked for without it', async () => {
    hub = await startTestHub({ security: { permissions } });
    await hub.server.hub.publish('public:news', 'hello');
    const refused = await poll(hub.url, 'channel=public:news&channel=secret:vault');
    expect(refused).toEqual({
      status: 403,
      body: { error: { code: ErrorCode.Forbidden, message: 'subscribe on secret:vault is not allowed', channel: 'secret:vault' } },
    });
    const without = await poll(hub.url, 'channel=public:news');
    expect(without.status).toBe(200);
    expect(without.body.messages.map((m: { data: unknown }) => m.data)).toEqual(['hello']);
  });

  it('names no channel when the request, not a channel, is refused', async () => {
    hub = await startTestHub({ security: { permissions } });
    const bad = await poll(hub.url, 'channel=public:news&wait=-1');
    expect(bad.status).toBe(400);
    expect(bad.body.error).not.toHaveProperty('channel');
  });
});
