import type { ClientOptions } from '../client.js';

/** A short, non-secret digest of a token, so tabs with different credentials do not share (FNV-1a). */
function digest(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(36);
}

/** The name of the share a client joins: its hub URL and its credentials' scope. */
export function shareName(url: string, options: ClientOptions): string {
  const share = options.share;
  const scope =
    typeof share === 'object' && share.name !== undefined ? share.name : options.token === undefined ? '' : digest(options.token);
  return `herald:${url}|${scope}`;
}
