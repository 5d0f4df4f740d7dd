import { ErrorCode, type Position, type PresenceMember } from '@herald/protocol';
import { WsTestClient, type TestHub } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MemoryBroker,
  MemoryPresenceStore,
  type BrokerMessage,
  type PresenceEvent,
  type ReadOptions,
  type ReadResult,
} from '@herald/server';
import { guardSuite, startHub } from './suite.js';
import { httpRequest, publishWith } from './wire.js';

/**
 * Channel names outside the safe alphabet are refused with 1003 on every transport, before any
 * engine call: the engine and presence store here record every channel they are asked about.
 */

guardSuite();

/** Every channel the engine was asked about. */
const engineChannels: string[] = [];

class SpyBroker extends MemoryBroker {
  override publish(channel: string, dataJson: string): Promise<BrokerMessage> {
    engineChannels.push(channel);
    return super.publish(channel, dataJson);
  }
  override read(channel: string, options?: ReadOptions): Promise<ReadResult> {
    engineChannels.push(channel);
    return super.read(channel, options);
  }
  override position(channel: string): Promise<Position> {
    engineChannels.push(channel);
    return super.position(channel);
  }
  override subscribe(channel: string): Promise<void> {
    engineChannels.push(channel);
    return super.subscribe(channel);
  }
  override unsubscribe(channel: string): Promise<void> {
    engineChannels.push(channel);
    return super.unsubscribe(channel);
  }
  override publishPresenceEvent(event: PresenceEvent): Promise<void> {
    engineChannels.push(event.channel);
    return super.publishPresenceEvent(event);
  }
}

class SpyPresence extends MemoryPresenceStore {
  override add(channel: string, entry: PresenceMember): Promise<void> {
    engineChannels.push(channel);
    return super.add(channel, entry);
  }
  override remove(channel: string, client: string): Promise<void> {
    engineChannels.push(channel);
    return super.remove(channel, client);
  }
  override list(channel: string): Promise<PresenceMember[]> {
    engineChannels.push(channel);
    return super.list(channel);
  }
}

const BAD_NAMES: [string, string][] = [
  ['star', 'orders:*'],
  ['star alone', '*'],
  ['greater-than', 'orders.>'],
  ['hash', 'a#b'],
  ['question mark', 'a?b'],
  ['NUL', 'a\u0000b'],
  ['LF', 'a\nb'],
  ['CR', 'a\rb'],
  ['CRLF + SSE field', 'a\r\nevent: forged'],
  ['tab', 'a\tb'],
  ['ESC', 'a\u001bb'],
  ['DEL', 'a\u007fb'],
  ['space', 'a b'],
  ['double quote', 'a"b'],
  ['backslash', 'a\\b'],
  ['percent', 'a%2e'],
  ['non-ASCII', 'café'],
  ['U+2028', 'a\u2028b'],
  ['dot-dot', 'a..b'],
  ['dot-dot alone', '..'],
  ['path traversal', '../etc/passwd'],
  ['256 characters', 'x'.repeat(256)],
  ['4096 characters', 'y'.repeat(4096)],
  ['empty', ''],
];

let hub: TestHub;
let client: WsTestClient;

beforeAll(async () => {
  hub = await startHub({ broker: new SpyBroker(), presence: new SpyPresence() });
  client = await WsTestClient.connect(hub.wsUrl);
});

afterAll(async () => {
  await client.close();
  await hub.close();
});

describe.each(BAD_NAMES)('a channel name with %s', (_what, name) => {
  it('gets 1003 for every WebSocket command and reaches no engine', async () => {
    const before = engineChannels.length;
    for (const command of [
      { type: 'subscribe', channel: name },
      { type: 'subscribe', channel: name, since: 'now' },
      { type: 'unsubscribe', channel: name },
      { type: 'publish', channel: name, data: 1 },
      { type: 'history', channel: name },
      { type: 'presence', channel: name },
    ]) {
      const reply = await client.request(command);
      expect(reply.error?.code, command.type).toBe(ErrorCode.InvalidChannel);
    }
    expect(engineChannels.slice(before)).toEqual([]);
  });

  it('gets 400 with 1003 on publish, polling, history, presence and SSE, and reaches no engine', async () => {
    const before = engineChannels.length;
    const q = encodeURIComponent(name);
    const answers = [
      await publishWith(hub.url, name, 1),
      await httpRequest(`${hub.url}/api/messages?channel=${q}`),
      await httpRequest(`${hub.url}/api/messages?channel=fine&channel=${q}`),
      await httpRequest(`${hub.url}/api/history?channel=${q}`),
      await httpRequest(`${hub.url}/api/presence?channel=${q}`),
      await httpRequest(`${hub.url}/events?channel=${q}`),
      await httpRequest(`${hub.url}/events?channel=fine&channel=${q}`),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(answer.json.error.code).toBe(ErrorCode.InvalidChannel);
    }
    expect(engineChannels.slice(before)).toEqual([]);
  });

  it('is refused by Hub.publish and Hub.publishJson (public API) with 1003, and reaches no engine', async () => {
    const before = engineChannels.length;
    await expect(hub.server.hub.publish(name, 1)).rejects.toMatchObject({ wireCode: ErrorCode.InvalidChannel, code: 'invalid_channel' });
    await expect(hub.server.hub.publishJson(name, '1')).rejects.toMatchObject({
      wireCode: ErrorCode.InvalidChannel,
      code: 'invalid_channel',
    });
    await expect(hub.server.hub.publishJson(name, '1', { idempotencyKey: 'k' })).rejects.toMatchObject({
      wireCode: ErrorCode.InvalidChannel,
      code: 'invalid_channel',
    });
    expect(engineChannels.slice(before)).toEqual([]);
  });

  it('inside a resume cursor is refused before any engine call', async () => {
    const cursor = `c1.${Buffer.from(`${name}|epoch|1`).toString('base64url')}`;
    const before = engineChannels.length;
    for (const url of [`/api/messages?channel=fine&since=${cursor}`, `/events?channel=fine&since=${cursor}`]) {
      const answer = await httpRequest(`${hub.url}${url}`);
      expect(answer.status).toBe(400);
      expect([ErrorCode.InvalidChannel, ErrorCode.InvalidCursor]).toContain(answer.json.error.code);
    }
    const reply = await client.request({ type: 'subscribe', channel: 'fine-resume', since: cursor });
    expect([ErrorCode.InvalidChannel, ErrorCode.InvalidCursor]).toContain(reply.error?.code);
    expect(engineChannels.slice(before).filter((c) => c !== 'fine' && c !== 'fine-resume')).toEqual([]);
  });
});

it('a 255-character name from the whole alphabet is accepted (the spy does record engine calls)', async () => {
  const name = `Az09_-:.@/=+,!~$${'n'.repeat(239)}`;
  expect(name).toHaveLength(255);
  expect((await client.request({ type: 'subscribe', channel: name })).error).toBeUndefined();
  expect((await publishWith(hub.url, name, 'ok')).status).toBe(200);
  expect(engineChannels).toContain(name);
});
