import { encodePosition, type CursorEntry, type Gap, type Position } from '@herald/protocol';
import type { CursorSigner } from '../auth/cursor-signer.js';
import type { HubMessage } from '../hub/hub-message.js';

/** The message's position with the hub's signature, computed once per message. */
export function signedPosition(message: HubMessage, signer: CursorSigner): CursorEntry {
  return message.encoded('signed-position', (m) => signer.sign(m.channel, m));
}

/**
 * The message's envelope with the signed cursor of its position added as `cursor`, for clients that
 * may not read the channel's history (they resume only from it). Built once per message, like the
 * plain envelope, and shared by every such subscriber.
 */
export function signedJson(message: HubMessage, signer: CursorSigner): string {
  return message.encoded(
    'signed-json',
    (m) => `${m.json.slice(0, -1)},"cursor":"${encodePosition(m.channel, signedPosition(m, signer))}"}`,
  );
}

/** The JSON of a gap push (`type: 'gap'`), with the signed cursor of `resumed` when `signer` is given. */
export function gapJson(gap: Gap, signer: CursorSigner | undefined): string {
  return JSON.stringify({ type: 'gap', ...gapFields(gap, signer) });
}

/** A gap as sent to one client: with the signed cursor of `resumed` when `signer` is given. */
export function gapFields(gap: Gap, signer: CursorSigner | undefined): Gap {
  return signer === undefined ? gap : { ...gap, cursor: signedCursor(gap.channel, gap.resumed, signer) };
}

/** The signed one-channel cursor of `position`. */
export function signedCursor(channel: string, position: Position, signer: CursorSigner): string {
  return encodePosition(channel, signer.sign(channel, position));
}
