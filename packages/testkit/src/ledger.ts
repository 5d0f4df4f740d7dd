import type { Envelope } from '@herald/protocol';

/** A publish the hub acknowledged: where the message was stored, and what it carried. */
export interface Ack<T = unknown> {
  readonly epoch: string;
  readonly offset: number;
  readonly data: T;
}

/**
 * What is wrong with a ledger, as short readable lines (none when it is right): `received` must be
 * exactly the acknowledged messages, each once, in offset order, with the data each was published with.
 */
export function ledgerProblems(received: readonly Pick<Envelope, 'offset' | 'epoch' | 'data'>[], acks: readonly Ack[]): string[] {
  const expected = [...acks].sort((a, b) => a.offset - b.offset);
  const problems: string[] = [];
  if (received.length !== expected.length) problems.push(`received ${received.length} messages, expected ${expected.length}`);
  const seen = new Set<number>();
  let duplicates = 0;
  for (const message of received) {
    if (seen.has(message.offset)) duplicates++;
    seen.add(message.offset);
  }
  if (duplicates > 0) problems.push(`${duplicates} duplicate offsets`);
  const missing = expected.filter((a) => !seen.has(a.offset));
  const firstMissing = missing.slice(0, 5).map((a) => a.offset);
  if (missing.length > 0) problems.push(`${missing.length} offsets missing, first ${firstMissing.join(', ')}`);
  const length = Math.min(received.length, expected.length);
  for (let i = 0; i < length; i++) {
    const got = received[i]!;
    const want = expected[i]!;
    if (got.offset !== want.offset || got.epoch !== want.epoch || JSON.stringify(got.data) !== JSON.stringify(want.data)) {
      problems.push(
        `at index ${i}: got offset ${got.offset} ${JSON.stringify(got.data)}, expected offset ${want.offset} ${JSON.stringify(want.data)}`,
      );
      break;
    }
  }
  return problems;
}

/** Checks that acknowledged offsets are exactly 1..n in one epoch (the log has no holes). */
export function acksProblems(acks: readonly Ack[], n: number): string[] {
  const offsets = acks.map((a) => a.offset).sort((a, b) => a - b);
  const problems: string[] = [];
  if (offsets.length !== n || offsets.some((offset, i) => offset !== i + 1)) problems.push(`acknowledged offsets are not exactly 1..${n}`);
  const epochs = new Set(acks.map((a) => a.epoch));
  if (epochs.size !== 1) problems.push(`acknowledged in ${epochs.size} epochs`);
  return problems;
}
