import { checkChannelName } from '@herald/protocol';

// Herald's channel alphabet less `~`, the escape character.
const PLAIN = /[A-Za-z0-9_\-:.@/=+,!$]/;
const ESCAPED = /~([0-9A-F]{2})/g;

/**
 * A name from another protocol (a Pusher channel, a Mercure topic) as text in Herald's channel
 * alphabet: every UTF-8 byte of a character outside it, `~` itself, and the second `.` of `..`
 * become `~HH` (two upper-case hex digits), everything else stays. `;` → `~3B`, `?` → `~3F`,
 * `a..b` → `a.~2Eb`, `é` → `~C3~A9`. {@link unescapeName} reverses it exactly.
 */
export function escapeName(name: string): string {
  let out = '';
  let previous = '';
  for (const char of name) {
    if (PLAIN.test(char) && !(char === '.' && previous === '.')) out += char;
    else for (const byte of Buffer.from(char, 'utf8')) out += `~${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    previous = char;
  }
  return out;
}

/**
 * The name {@link escapeName} made `text` of: each `~HH` back to its byte (a `~` not followed by two
 * upper-case hex digits stays as it is, so any Herald channel name has a name).
 */
export function unescapeName(text: string): string {
  if (!text.includes('~')) return text;
  const bytes: number[] = [];
  let last = 0;
  for (const match of text.matchAll(ESCAPED)) {
    bytes.push(...Buffer.from(text.slice(last, match.index), 'utf8'), Number.parseInt(match[1]!, 16));
    last = match.index + match[0].length;
  }
  bytes.push(...Buffer.from(text.slice(last), 'utf8'));
  return Buffer.from(bytes).toString('utf8');
}

/**
 * The Herald channel `prefix` + the escaped name, or an error message when it is not a valid channel
 * (longer than 255 characters once escaped, or empty).
 */
export function mappedChannel(prefix: string, name: string): { channel: string } | { error: string } {
  const channel = prefix + escapeName(name);
  const checked = checkChannelName(channel);
  return checked.ok ? { channel } : { error: checked.error.message };
}
