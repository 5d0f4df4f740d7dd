import type { Envelope, Gap, PresenceChange } from '@herald/client';

/** What `herald tail` prints, one line per event. */
export type TailEvent =
  | { readonly kind: 'message'; readonly envelope: Envelope }
  | { readonly kind: 'gap'; readonly gap: Gap }
  | { readonly kind: 'presence'; readonly change: PresenceChange }
  | { readonly kind: 'cursor'; readonly cursor: string; readonly channels: readonly string[] };

const at = (position: { epoch: string; offset: number }): string => `${position.epoch}:${position.offset}`;

/**
 * One line for `event`: with `json`, the envelope, gap (`type: "gap"`), join/leave or cursor
 * (`type: "cursor"`) as one JSON object; otherwise a line for people: channel, position, data.
 */
export function formatTailEvent(event: TailEvent, json: boolean): string {
  switch (event.kind) {
    case 'message':
      return json
        ? JSON.stringify(event.envelope)
        : `${event.envelope.channel} ${at(event.envelope)} ${JSON.stringify(event.envelope.data)}`;
    case 'gap':
      return json
        ? JSON.stringify({ type: 'gap', ...event.gap })
        : `${event.gap.channel} gap (${event.gap.reason}): cannot resume after ${at(event.gap.requested)}, resuming after ${at(event.gap.resumed)}`;
    case 'presence': {
      const { type, channel, member } = event.change;
      return json ? JSON.stringify({ type, channel, member }) : `${channel} ${type} ${member.user ?? '(anonymous)'} (${member.client})`;
    }
    case 'cursor':
      return json
        ? JSON.stringify({ type: 'cursor', cursor: event.cursor })
        : `cursor: ${event.cursor}\nresume with: herald tail ${event.channels.join(' ')} --since ${event.cursor}`;
  }
}
