import { afterEach, describe, expect, it } from 'vitest';
import { Hub } from '../src/hub/hub.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import { MemoryPresenceStore } from '../src/memory/memory-presence-store.js';
import { HubMessage } from '../src/hub/hub-message.js';
import { MAX_POLL_MESSAGE_UNITS, MAX_POLL_MESSAGES, PollMessages } from '../src/transport/poll-messages.js';

const message = (offset: number, json: string, channel = 'dash:a'): HubMessage =>
  new HubMessage({ channel, epoch: 'e', offset, time: 0, json: `{"offset":${offset},"data":${json}}` });

describe('PollMessages', () => {
  let hub: Hub | undefined;
  afterEach(async () => {
    await hub?.close();
    hub = undefined;
  });
  const create = (): PollMessages => {
    hub = new Hub({ broker: new MemoryBroker(), presence: new MemoryPresenceStore(), deltaNamespaces: ['dash'], positionCheckInterval: 0 });
    return new PollMessages(hub);
  };

  it('shares one instance per position and stored JSON, and finds it by position', () => {
    const messages = create();
    const first = messages.share(message(1, '"a"'));
    expect(messages.share(message(1, '"a"'))).toBe(first);
    expect(messages.find('dash:a', { epoch: 'e', offset: 1 })).toBe(first);
    expect(messages.find('dash:a', { epoch: 'f', offset: 1 })).toBeUndefined();
    // Other JSON at the same position (a reused offset): the newer replaces it.
    const other = messages.share(message(1, '"b"'));
    expect(other).not.toBe(first);
    expect(messages.find('dash:a', { epoch: 'e', offset: 1 })).toBe(other);
    expect(messages.size).toBe(1);
  });

  it(`keeps at most ${MAX_POLL_MESSAGES} messages, the least recently used out first`, () => {
    const messages = create();
    for (let offset = 1; offset <= MAX_POLL_MESSAGES; offset++) messages.share(message(offset, String(offset)));
    messages.share(message(1, '1'));
    messages.share(message(MAX_POLL_MESSAGES + 1, '0'));
    expect(messages.size).toBe(MAX_POLL_MESSAGES);
    expect(messages.find('dash:a', { epoch: 'e', offset: 1 })).toBeDefined();
    expect(messages.find('dash:a', { epoch: 'e', offset: 2 })).toBeUndefined();
  });

  it('keeps at most MAX_POLL_MESSAGE_UNITS of JSON, and no message too long for a delta', () => {
    const messages = create();
    const big = `"${'x'.repeat(64 * 1024)}"`;
    const count = Math.floor(MAX_POLL_MESSAGE_UNITS / big.length);
    for (let offset = 1; offset <= count + 5; offset++) messages.share(message(offset, big));
    expect(messages.size).toBeLessThanOrEqual(count);
    expect(messages.find('dash:a', { epoch: 'e', offset: count + 5 })).toBeDefined();
    const huge = message(count + 6, `"${'x'.repeat(200 * 1024)}"`);
    expect(messages.share(huge)).toBe(huge);
    expect(messages.find('dash:a', { epoch: 'e', offset: count + 6 })).toBeUndefined();
  });

  it('keeps a live message once however many polls it wakes, and again once it went out', () => {
    const messages = create();
    const live = message(1, '"a"');
    messages.keepLive(live);
    messages.keepLive(live);
    expect(messages.find('dash:a', { epoch: 'e', offset: 1 })).toBe(live);
    expect(messages.size).toBe(1);
    for (let offset = 2; offset <= MAX_POLL_MESSAGES + 1; offset++) messages.keep(message(offset, String(offset)));
    expect(messages.find('dash:a', { epoch: 'e', offset: 1 })).toBeUndefined();
    messages.keepLive(live);
    expect(messages.find('dash:a', { epoch: 'e', offset: 1 })).toBe(live);
  });

  it('tells whether the delta of a live message against the one before is at hand, and again once that one is kept', () => {
    const messages = create();
    const next = message(2, '{"a":1,"b":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","c":3}');
    // The message before is not at hand: no delta.
    expect(messages.followsLive(next)).toBe(false);
    expect(messages.followsLive(next)).toBe(false);
    messages.keep(message(1, '{"a":0,"b":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","c":3}'));
    expect(messages.followsLive(next)).toBe(true);
  });
});
