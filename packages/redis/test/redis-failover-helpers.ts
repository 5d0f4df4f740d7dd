import { encodePosition, type Envelope, type Gap } from '@herald/protocol';
import { eventually, redisCli, startProbe, type HeraldNode, type RedisNodeProcess, type SdkProbe } from '@herald/testkit';

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

/** What {@link lostTail} needs of a deployment: its primary and the replicas that must miss the tail. */
export interface LostTailTarget {
  /** The port of the primary serving the channel. */
  readonly primary: number;
  /** Every replica that could be promoted (each is paused while the tail is published). */
  readonly replicas: readonly RedisNodeProcess[];
  /** SIGKILLs the primary. */
  killPrimary(): Promise<void>;
}

/** What {@link lostTail} saw: every attempt, the subscribers (one live per node, then one resumed from the tail's end). */
export interface LostTailOutcome {
  readonly attempts: readonly Attempt[];
  readonly probes: readonly SdkProbe[];
  /** The position of the tail's last message (acknowledged, received live by every subscriber). */
  readonly tailEnd: { readonly epoch: string; readonly offset: number };
  /** The `n` of the first publish after the tail. */
  readonly afterFrom: number;
}

/**
 * The tail a promoted replica lacks: `before` messages reach the replicas; then the replicas are
 * paused (SIGSTOP) and cut off (`CLIENT KILL TYPE replica` on the primary) before `tail` more are
 * published through Herald (acknowledged, received live by an SDK subscriber on each of
 * `subscribed`); the primary is SIGKILLed and the replicas resumed, so a replica without the tail
 * takes over. Publishing goes on until `after` more are acknowledged: the first half through
 * `publisher` (a node without subscribers) while the `subscribed` nodes are paused, so the writes
 * reach the new primary before any node that saw the tail can notice the log went back (the
 * hub's own check would otherwise race the fence); the second half through the `subscribed`
 * nodes once resumed. A last subscriber then resumes from the tail's end.
 */
export async function lostTail(
  subscribed: readonly HeraldNode[],
  publisher: HeraldNode,
  channel: string,
  target: LostTailTarget,
  counts = { before: 10, tail: 10, after: 20 },
): Promise<LostTailOutcome> {
  const probes: SdkProbe[] = [];
  for (const node of subscribed) probes.push(await startProbe(node.url, 'websocket', channel));
  const attempts: Attempt[] = [];
  const acked = (): number => attempts.filter((a) => 'ack' in a).length;
  const publishAll = async (from: number, count: number): Promise<void> => {
    for (let n = from; n < from + count; n++) {
      const attempt = await tryPublish(subscribed[n % subscribed.length]!.url, channel, n);
      attempts.push(attempt);
      if (!('ack' in attempt)) throw new Error(`publish ${n} refused before the failover: ${attempt.refused}`);
    }
  };
  /** Publishes through `via(n)` until `goal` are acknowledged (60 s at most). */
  const publishUntil = async (goal: number, via: (n: number) => HeraldNode): Promise<void> => {
    const started = Date.now();
    for (let n = attempts.length; acked() < goal && Date.now() - started < 60_000; n++) {
      const attempt = await tryPublish(via(n).url, channel, n);
      attempts.push(attempt);
      // While no primary serves the channel, publishes are refused: do not spin.
      if ('refused' in attempt) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (acked() < goal) throw new Error(`only ${acked()} of ${goal} publishes acknowledged within 60 s`);
  };
  await publishAll(0, counts.before);
  // Every replica has the first messages.
  await redisCli(target.primary, 'WAIT', String(target.replicas.length), '5000');
  const replicas = target.replicas.map((replica) => replica.pid!);
  const hubs = subscribed.map((node) => node.hubPid);
  for (const pid of replicas) process.kill(pid, 'SIGSTOP');
  let hubsPaused = false;
  try {
    await redisCli(target.primary, 'CLIENT', 'KILL', 'TYPE', 'replica');
    await eventually(
      async () => (await redisCli(target.primary, 'INFO', 'replication')).includes('connected_slaves:0'),
      'the primary without replicas',
    );
    await publishAll(counts.before, counts.tail);
    for (const probe of probes) await probe.messages.count(counts.before + counts.tail);
    for (const pid of hubs) process.kill(pid, 'SIGSTOP');
    hubsPaused = true;
    await target.killPrimary();
    for (const pid of replicas) process.kill(pid, 'SIGCONT');
    replicas.length = 0;
    await publishUntil(counts.before + counts.tail + counts.after / 2, () => publisher);
  } finally {
    for (const pid of replicas) process.kill(pid, 'SIGCONT');
    if (hubsPaused) for (const pid of hubs) process.kill(pid, 'SIGCONT');
  }
  const tailEnd = (attempts[counts.before + counts.tail - 1] as Extract<Attempt, { ack: unknown }>).ack;
  await publishUntil(counts.before + counts.tail + counts.after, (n) => subscribed[n % subscribed.length]!);
  probes.push(await startProbe(subscribed[0]!.url, 'websocket', channel, encodePosition(channel, tailEnd)));
  return { attempts, probes, tailEnd, afterFrom: counts.before + counts.tail };
}

/**
 * What is wrong with a {@link lostTail} outcome (none when right), for each subscriber: the checks of
 * {@link failoverProblems}; an explicit gap after the tail (the promoted replica lacked it); every
 * message acknowledged after the failover received, after that gap, never at an offset the tail used.
 */
export function lostTailProblems(outcome: LostTailOutcome): string[][] {
  const { attempts, tailEnd, afterFrom } = outcome;
  const after = attempts.flatMap((a) => ('ack' in a && a.n >= afterFrom ? [a] : []));
  return outcome.probes.map((probe, i) => {
    // The last subscriber resumed after the tail: what it is owed starts there.
    const owed = i === outcome.probes.length - 1 ? attempts.filter((a) => a.n >= afterFrom) : attempts;
    const problems = failoverProblems(probe.messages.items, probe.gaps, owed).map((p) => `subscriber ${i}: ${p}`);
    const gap = probe.gaps.find((g) => g.requested.epoch === tailEnd.epoch && g.requested.offset >= tailEnd.offset);
    if (gap === undefined)
      problems.push(`subscriber ${i}: no gap after ${tailEnd.epoch}/${tailEnd.offset} (gaps ${JSON.stringify(probe.gaps)})`);
    else if (gap.reason !== 'epoch' && gap.reason !== 'lost') problems.push(`subscriber ${i}: a gap of reason ${gap.reason}`);
    for (const a of after) {
      if (a.ack.epoch === tailEnd.epoch && a.ack.offset <= tailEnd.offset)
        problems.push(`{"n":${a.n}} acknowledged at ${a.ack.epoch}/${a.ack.offset}, an offset the lost tail used`);
      if (!probe.messages.items.some((m) => (m.data as { n?: unknown } | null)?.n === a.n))
        problems.push(`subscriber ${i}: {"n":${a.n}} acknowledged after the failover, not received`);
    }
    return problems;
  });
}

/**
 * {@link lostTailProblems} once they are gone or `timeoutMs` has passed (the subscribers may still be
 * reconnecting), with a one-line summary of the failover logged for the test's output.
 */
export async function settledLostTailProblems(outcome: LostTailOutcome, timeoutMs = 20_000): Promise<string[][]> {
  const deadline = Date.now() + timeoutMs;
  while (lostTailProblems(outcome).some((p) => p.length > 0) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 100));
  const after = outcome.attempts.filter((a) => a.n >= outcome.afterFrom);
  console.info(
    `lost tail: tail ended at ${outcome.tailEnd.epoch}/${outcome.tailEnd.offset}; after the failover ${after.length} publishes, ${after.filter((a) => 'refused' in a).length} refused, first acknowledged at ${JSON.stringify(after.find((a) => 'ack' in a))}; gaps ${JSON.stringify(outcome.probes.map((p) => p.gaps.map((g) => g.reason)))}`,
  );
  return lostTailProblems(outcome);
}
