import type { HubMessage } from '../hub/hub-message.js';
import type { SignedEncodings } from './signed-json.js';

/**
 * A JSON array of the messages' stored envelopes, spliced together without re-serialising them;
 * with `signed`, each carries its signed cursor (see {@link SignedEncodings.json}).
 */
export function messagesJson(messages: readonly HubMessage[], signed?: SignedEncodings): string {
  if (messages.length === 0) return '[]';
  let out = '[';
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    out += (i === 0 ? '' : ',') + (signed === undefined ? message.json : signed.json(message));
  }
  return out + ']';
}
