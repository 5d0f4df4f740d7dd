import type { CursorSigner } from '../auth/cursor-signer.js';
import type { HubMessage } from '../hub/hub-message.js';
import { signedJson } from './signed-json.js';

/**
 * A JSON array of the messages' stored envelopes, spliced together without re-serialising them;
 * with `signer`, each carries its signed cursor (see {@link signedJson}).
 */
export function messagesJson(messages: readonly HubMessage[], signer?: CursorSigner): string {
  if (messages.length === 0) return '[]';
  let out = '[';
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    out += (i === 0 ? '' : ',') + (signer === undefined ? message.json : signedJson(message, signer));
  }
  return out + ']';
}
