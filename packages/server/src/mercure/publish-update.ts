import type { Position } from '@herald/protocol';
import { mappedChannel } from '../doors/escaped-channel.js';
import type { Hub } from '../hub/hub.js';
import { generatedId, updateData, UPDATES_CHANNEL, type PostedUpdate } from './mercure-update.js';

/** The Herald channel of topic `topic` (`mappedChannel('', topic)`), or undefined when it has none (too long once escaped). */
export function topicChannel(topic: string): string | undefined {
  const mapped = mappedChannel('', topic);
  return 'channel' in mapped ? mapped.channel : undefined;
}

/**
 * Stores an update: on the channel of each of its topics (Herald and Pusher clients of those
 * channels receive it; a topic without a channel is skipped), then on {@link UPDATES_CHANNEL} with
 * the positions it got there. Resolves with the update's id: the publisher's, else `#` and the
 * cursor of its position on the updates channel (see `generatedId`): the `id:` every subscriber
 * receives it with, and a `Last-Event-ID` to resume after it.
 */
export async function publishUpdate(hub: Hub, update: PostedUpdate): Promise<string> {
  const positions: Record<string, Position> = {};
  for (const topic of new Set(update.topics)) {
    const channel = topicChannel(topic);
    if (channel === undefined || channel in positions) continue;
    const stored = await hub.publish(channel, updateData(update));
    positions[channel] = { epoch: stored.epoch, offset: stored.offset };
  }
  const stored = await hub.publish(UPDATES_CHANNEL, updateData(update, positions));
  return update.id ?? generatedId(UPDATES_CHANNEL, stored);
}
