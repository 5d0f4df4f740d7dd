import { ErrorCode } from '@herald/protocol';
import type { TestHub } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { guardSuite, startHub } from './suite.js';
import { rawUpgrade } from './wire.js';

/**
 * The hub speaks two WebSocket subprotocols, `herald.compact` and `herald.msgpack`. An upgrade that
 * offers one of them gets the client's first one the hub speaks, echoed in the 101; an upgrade that
 * offers only others is refused with 400 and a JSON error, never answered with a subprotocol the hub
 * would then not speak.
 */

guardSuite();

let hub: TestHub;

beforeAll(async () => {
  hub = await startHub();
});

afterAll(async () => {
  await hub.close();
});

const refusal = {
  error: {
    code: ErrorCode.InvalidField,
    message:
      'the hub speaks only the WebSocket subprotocols herald.compact and herald.msgpack: offer one of them or send no Sec-WebSocket-Protocol header',
  },
};

describe('Sec-WebSocket-Protocol', () => {
  it.each(['mqtt, herald.v1', 'herald.v1', 'mqtt'])(
    'an upgrade offering "%s" gets 400 with code 1005, no 101 and no subprotocol',
    async (offered) => {
      const upgrade = await rawUpgrade(hub.port, '/ws', { 'Sec-WebSocket-Protocol': offered });
      expect(upgrade.status).toBe(400);
      expect(upgrade.head).not.toMatch(/sec-websocket-protocol/i);
      expect(JSON.parse(upgrade.body)).toEqual(refusal);
      await upgrade.closed;
      expect(hub.server.stats().websocket).toBe(0);
    },
  );

  it('a ws client asking for a subprotocol sees the 400, not an open socket; one asking for none opens, and its 101 names none', async () => {
    const client = new WebSocket(hub.wsUrl, ['mqtt', 'herald.v1']);
    client.on('error', () => undefined);
    const status = await new Promise<number>((resolve, reject) => {
      client.once('open', () => reject(new Error('opened')));
      client.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    });
    client.terminate();
    expect(status).toBe(400);
    const upgrade = await rawUpgrade(hub.port, '/ws');
    expect(upgrade.status).toBe(101);
    expect(upgrade.head).not.toMatch(/sec-websocket-protocol/i);
    upgrade.socket.destroy();
    await upgrade.closed;
  });

  it.each([
    ['herald.compact', 'herald.compact'],
    ['herald.msgpack', 'herald.msgpack'],
    ['mqtt, herald.msgpack, herald.compact', 'herald.msgpack'],
    ['herald.compact,herald.msgpack', 'herald.compact'],
  ])('an upgrade offering "%s" opens with the client\'s first one the hub speaks: %s, echoed in the 101', async (offered, chosen) => {
    const upgrade = await rawUpgrade(hub.port, '/ws', { 'Sec-WebSocket-Protocol': offered });
    expect(upgrade.status).toBe(101);
    expect(upgrade.head.split('\r\n')).toContainEqual(expect.stringMatching(new RegExp(`^sec-websocket-protocol: ${chosen}$`, 'i')));
    upgrade.socket.destroy();
    await upgrade.closed;
  });

  it('a ws client offering herald.msgpack gets it as socket.protocol', async () => {
    const client = new WebSocket(hub.wsUrl, ['herald.v1', 'herald.msgpack']);
    await new Promise((resolve, reject) => {
      client.once('open', resolve);
      client.once('error', reject);
    });
    expect(client.protocol).toBe('herald.msgpack');
    client.close();
    await new Promise((resolve) => client.once('close', resolve));
  });
});
