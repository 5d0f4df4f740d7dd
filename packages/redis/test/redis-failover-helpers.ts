import type { Envelope, Gap } from '@herald/protocol';

/** One publish attempt: acknowledged (where it was stored) or refused (the status and body). */
export type Attempt =
  | { readonly n: number; readonly ack: { readonly epoch: string; readonly offset: number } }
  | { readonly n: number; readonly refused: string };

/** `POST /api/publish` of `{n}`; never throws: a refusal or a network error is recorded as refused. */
export async function tryPublish(url: string, channel: string, n: number): Promise<Attempt> {
  try {
    const res = await fetch(`${url}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel, data: { n } }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (res.status !== 200) return { n, refused: `${res.status} ${text}` };
    const body = JSON.parse(text) as { epoch: string; offset: number };
    return { n, ack: { epoch: body.epoch, offset: body.offset } };
  } catch (error) {
    return { n, refused: String(error) };
  }
}

/**
 * What is wrong with what one subscriber got, given every publish attempt (none when right): each
 * acknowledged message is received once with its data, or lies in a gap the subscriber was told
 * of; no two received messages share a position; offsets grow within an epoch; a received message
 * at an acknowledged position carries that publish's data (an offset is never reused in silence).
 */
export function failoverProblems(received: readonly Envelope[], gaps: readonly Gap[], attempts: readonly Attempt[]): string[] {
  const problems: string[] = [];
  const acked = new Map<string, number>();
  for (const a of attempts) if ('ack' in a) acked.set(`${a.ack.epoch}/${a.ack.offset}`, a.n);
  const got = new Map<string, unknown>();
  const lastOffset = new Map<string, number>();
  for (const m of received) {
    const at = `${m.epoch}/${m.offset}`;
    if (got.has(at)) problems.push(`${at} received twice`);
    got.set(at, m.data);
    const last = lastOffset.get(m.epoch) ?? 0;
    if (m.offset <= last) problems.push(`${at} after offset ${last} of its epoch`);
    lastOffset.set(m.epoch, m.offset);
    const n = acked.get(at);
    const data = m.data as { n?: unknown } | null;
    if (n !== undefined && data?.n !== n) problems.push(`${at} carries ${JSON.stringify(m.data)}, acknowledged for {"n":${n}}`);
  }
  const covered = (epoch: string, offset: number): boolean =>
    gaps.some(
      (g) => g.requested.epoch === epoch && offset > g.requested.offset && (g.resumed.epoch !== epoch || offset <= g.resumed.offset),
    );
  let missing = 0;
  for (const [at, n] of acked) {
    if (got.has(at)) continue;
    const [epoch, offset] = at.split('/') as [string, string];
    if (covered(epoch, Number(offset))) continue;
    if (missing++ < 5) problems.push(`{"n":${n}} acknowledged at ${at}: neither received nor in a gap`);
  }
  if (missing > 5) problems.push(`… ${missing} acknowledged messages missing in all`);
  return problems;
}
