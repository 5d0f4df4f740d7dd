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
 * Stores an update. A public one goes on the channel of each of its topics (Herald and Pusher
 * clients of those channels receive it; a topic without a channel is skipped), then on
 * {@link UPDATES_CHANNEL} with the positions it got there. A private one goes on
 * {@link UPDATES_CHANNEL} only (Herald and Pusher clients never see it; only Mercure subscribers
 * allowed one of its topics do), with the positions its topics' channels stood at: a resume from
 * its id starts each of them exactly there. Resolves with the update's id: the publisher's, else
 * `#` and the cursor of its position on the updates channel (see `generatedId`): the `id:` every
 * subscriber receives it with, and a `Last-Event-ID` to resume after it. With `track` false a
 * private update records no positions (subscription events: reading a position creates the
 * channel's log, one per subscriber and selector).
 * @param track @default true
 */
export async function publishUpdate(hub: Hub, update: PostedUpdate, track = true): Promise<string> {
  const positions: Record<string, Position> = {};
  for (const topic of new Set(update.topics)) {
    if (update.private && !track) break;
    const channel = topicChannel(topic);
    if (channel === undefined || channel in positions) continue;
    if (update.private) {
      const top = await hub.position(channel);
      positions[channel] = { epoch: top.epoch, offset: top.offset };
      continue;
    }
    const stored = await hub.publish(channel, updateData(update));
    positions[channel] = { epoch: stored.epoch, offset: stored.offset };
  }
  const stored = await hub.publish(UPDATES_CHANNEL, updateData(update, positions));
  return update.id ?? generatedId(UPDATES_CHANNEL, stored);
}
