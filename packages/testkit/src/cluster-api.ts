import type { Envelope, Gap } from '@herald/protocol';
import type { Ack } from './ledger.js';

/** The answer of a node that refused a publish before storing anything because it is shutting down. */
const SHUTDOWN_REFUSAL = JSON.stringify({ error: { code: 3001, message: 'the hub is shutting down' } });

/**
 * Whether a publish answered this way may be published again while a node drains: a 503 "the hub
 * is shutting down" (Herald refused it before storing anything), or nginx's 502 for a request the
 * draining node's kernel reset (it was still in the accept queue when the listener closed, so the
 * hub never read it; nginx does not pass a POST on to another node once sent). Should a hub ever
 * store a publish and then answer neither, the retry stores it twice and the ledger check fails.
 */
function refusedWhileDraining(status: number, text: string): boolean {
  return (status === 503 && text === SHUTDOWN_REFUSAL) || (status === 502 && text.includes('<title>502 Bad Gateway</title>'));
}

/**
 * `POST /api/publish`; rejects unless the hub answers 200 with the stored position. With
 * `retryDraining`, a publish {@link refusedWhileDraining} is published again (up to 10 tries), as a
 * publisher behind a load balancer does during a rolling restart. Any other answer rejects: it
 * would leave the ledger unknown.
 */
export async function publishTo<T>(url: string, channel: string, data: T, retryDraining = false): Promise<Ack<T>> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${url}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel, data }),
    });
    const text = await res.text();
    if (retryDraining && attempt < 10 && refusedWhileDraining(res.status, text)) continue;
    if (res.status !== 200) throw new Error(`publish to ${url} answered ${res.status}: ${text}`);
    const body = JSON.parse(text) as { channel: string; epoch: string; offset: number };
    if (body.channel !== channel) throw new Error(`publish to ${url} answered for channel ${body.channel}`);
    return { epoch: body.epoch, offset: body.offset, data };
  }
}

/** `GET /api/messages?…` on one node; the raw body too, to compare answers byte for byte. */
export async function getMessages(
  url: string,
  query: Record<string, string>,
): Promise<{ status: number; text: string; body: { messages: Envelope[]; cursor: string; gaps?: Gap[]; more?: true } }> {
  const res = await fetch(`${url}/api/messages?${new URLSearchParams(query).toString()}`);
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) };
}

/** Options of {@link publishPaced}. */
export interface PacedOptions {
  readonly channel: string;
  readonly count: number;
  /** Publishes in flight at once; the next batch starts when the previous one is acknowledged. */
  readonly batch: number;
  /** Node (or proxy) URLs for batch number `b` (0-based); the batch's publishes take them in turn. */
  readonly targets: (b: number) => readonly string[];
  /** Called after every acknowledgement with how many are acknowledged so far (others may be in flight). */
  readonly onAck?: (acknowledged: number) => void;
  /** Publish again what a draining node refused (see {@link publishTo}). @default false */
  readonly retryDraining?: boolean;
}

/** Publishes `{n}` for n = 0..count-1 in batches spread over the targets; resolves with every ack. */
export async function publishPaced(options: PacedOptions): Promise<Ack<{ n: number }>[]> {
  const acks: Ack<{ n: number }>[] = [];
  for (let start = 0, b = 0; start < options.count; start += options.batch, b++) {
    const targets = options.targets(b);
    const size = Math.min(options.batch, options.count - start);
    await Promise.all(
      Array.from({ length: size }, async (_, i) => {
        acks.push(await publishTo(targets[i % targets.length]!, options.channel, { n: start + i }, options.retryDraining));
        options.onAck?.(acks.length);
      }),
    );
  }
  return acks;
}
