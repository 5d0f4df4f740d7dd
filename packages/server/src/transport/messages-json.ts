import type { BrokerMessage } from '../engine/broker.js';

/** A JSON array of the messages' stored envelopes, spliced together without re-serialising them. */
export function messagesJson(messages: readonly BrokerMessage[]): string {
  if (messages.length === 0) return '[]';
  let out = '[';
  for (let i = 0; i < messages.length; i++) out += (i === 0 ? '' : ',') + messages[i]!.json;
  return out + ']';
}
