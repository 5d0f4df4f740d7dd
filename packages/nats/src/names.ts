/**
 * Channel names as NATS subject tokens and KV keys. Herald channel names (`[A-Za-z0-9_\-:.@/=+,!~$]+`)
 * hold one character a subject token may not: `.` (the token separator). It maps to `%`, which no
 * channel name holds, so the mapping is reversible. KV keys allow fewer characters: they take the
 * name as base64url.
 */
export function channelToken(channel: string): string {
  return channel.replaceAll('.', '%');
}

/** The inverse of {@link channelToken}. */
export function tokenChannel(token: string): string {
  return token.replaceAll('%', '.');
}

/** A KV key part for any text (base64url: KV keys allow `[-/_=.A-Za-z0-9]`). */
export function keyPart(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

/** The inverse of {@link keyPart}. */
export function fromKeyPart(part: string): string {
  return Buffer.from(part, 'base64url').toString('utf8');
}

/** The subjects, stream and buckets of one deployment (`prefix`, default `HERALD`). */
export class Names {
  readonly stream: string;
  /** Stored channel messages: `<prefix>.c.<channel token>` (the stream's subjects). */
  readonly logPrefix: string;
  /** Live copies the stream republishes once stored, and presence events: `<prefix>.l.<token>`. */
  readonly livePrefix: string;
  /** Control messages between nodes. */
  readonly control: string;

  constructor(readonly prefix: string) {
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(prefix)) throw new RangeError('prefix must be 1–32 characters of A–Z, a–z, 0–9, _ and -');
    this.stream = prefix;
    this.logPrefix = `${prefix}.c.`;
    this.livePrefix = `${prefix}.l.`;
    this.control = `${prefix}.ctl`;
  }

  log(channel: string): string {
    return this.logPrefix + channelToken(channel);
  }

  live(channel: string): string {
    return this.livePrefix + channelToken(channel);
  }

  /** A KV bucket of this deployment, e.g. `HERALD_presence`. */
  bucket(kind: 'idempotency' | 'presence' | 'counts' | 'tickets' | 'acks'): string {
    return `${this.prefix}_${kind}`;
  }
}
