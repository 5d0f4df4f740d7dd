import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CursorEntry, Position } from '@herald/protocol';

/** Characters of a position's signature: 96 bits of an HMAC-SHA256, base64url. */
const MAC_LENGTH = 16;
/** Characters of a {@link CursorSigner.tag}: 128 bits, base64url. */
const TAG_LENGTH = 22;

/** Shortest accepted cursor secret, in characters. */
export const MIN_CURSOR_SECRET_LENGTH = 32;

/**
 * Signs channel positions so that the hub can tell, when a client resumes, that it was the hub that
 * handed the position out. A client that may subscribe to a channel but not read its history
 * resumes only from a signed position: it can come back to where it was, never choose where to
 * start reading.
 *
 * The signature covers the channel, the epoch and the offset (not the user): one signature per
 * message, computed once and shared by every subscriber. Every node that shares the secrets accepts
 * the others' signatures; the first secret signs, all of them verify (rotation).
 */
export class CursorSigner {
  readonly #keys: Buffer[];

  /** @param secrets shared by every node; the first signs, every one verifies */
  constructor(secrets: readonly (string | Buffer)[]) {
    if (secrets.length === 0) throw new TypeError('CursorSigner needs at least one secret');
    this.#keys = secrets.map((secret) => (typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret));
  }

  /**
   * The signer of a hub: its `cursorSecrets` when configured; else keys derived from its API keys
   * (which every node of a deployment shares); else a random key of this process (the dev profile,
   * where everyone may read history and nothing is ever signed).
   */
  static forHub(cursorSecrets: readonly string[] | undefined, apiKeys: readonly string[] | undefined): CursorSigner {
    if (cursorSecrets !== undefined && cursorSecrets.length > 0) {
      for (const secret of cursorSecrets) {
        if (typeof secret !== 'string' || secret.length < MIN_CURSOR_SECRET_LENGTH) {
          throw new RangeError(`cursorSecrets must be strings of at least ${MIN_CURSOR_SECRET_LENGTH} characters`);
        }
      }
      return new CursorSigner(cursorSecrets);
    }
    if (apiKeys !== undefined && apiKeys.length > 0) {
      // A key of its own, not the API key itself: a cursor reveals nothing that helps forge a request.
      return new CursorSigner(apiKeys.map((key) => createHmac('sha256', 'herald cursor key v1').update(key).digest()));
    }
    return new CursorSigner([randomBytes(32)]);
  }

  /** The signature of `position` on `channel`. */
  mac(channel: string, position: Position): string {
    return this.#mac(this.#keys[0]!, channel, position);
  }

  /** `position` with its signature. */
  sign(channel: string, position: Position): CursorEntry {
    return { epoch: position.epoch, offset: position.offset, mac: this.mac(channel, position) };
  }

  /** Whether `entry` carries a signature of this hub (any of its secrets) for `channel`. */
  verify(channel: string, entry: CursorEntry): boolean {
    const presented = entry.mac;
    if (presented === undefined || presented.length !== MAC_LENGTH) return false;
    const given = Buffer.from(presented);
    let match = false;
    for (const key of this.#keys) match = timingSafeEqual(given, Buffer.from(this.#mac(key, channel, entry))) || match;
    return match;
  }

  /**
   * A signature of `text` for `purpose` (128 bits, base64url), e.g. a polling session's id bound to
   * its user. The purpose and text are NUL-separated: no channel name holds one, so a tag is never a
   * position's signature.
   */
  tag(purpose: string, text: string): string {
    return this.#tag(this.#keys[0]!, purpose, text);
  }

  /** Whether `tag` is {@link tag} of `text` for `purpose` under any of the secrets. */
  verifyTag(purpose: string, text: string, tag: string): boolean {
    if (Buffer.byteLength(tag) !== TAG_LENGTH) return false;
    const given = Buffer.from(tag);
    let match = false;
    for (const key of this.#keys) match = timingSafeEqual(given, Buffer.from(this.#tag(key, purpose, text))) || match;
    return match;
  }

  #tag(key: Buffer, purpose: string, text: string): string {
    return createHmac('sha256', key).update(`\0${purpose}\0${text}`).digest('base64url').slice(0, TAG_LENGTH);
  }

  #mac(key: Buffer, channel: string, position: Position): string {
    return createHmac('sha256', key).update(`${channel}|${position.epoch}|${position.offset}`).digest('base64url').slice(0, MAC_LENGTH);
  }
}
