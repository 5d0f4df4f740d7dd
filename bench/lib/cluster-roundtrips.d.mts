export declare function channelNames(
  channel: string,
  options?: { prefix?: string; clustered?: boolean },
): { keys: Record<'meta' | 'log' | 'members' | 'alive', string>; live: string; all: Set<string> };
/** One kind of the channel's commands seen by MONITOR. */
export interface Attributed {
  calls: number;
  evalFallbacks: number;
  inner: Record<string, number>;
  innerCalls: number;
  members: number;
}
export declare function attribute(
  rawLines: readonly string[],
  channel: string,
  controlClient: string,
  clustered?: boolean,
): {
  complete: boolean;
  lines: number;
  ours: Record<string, Attributed>;
  others: { calls: number; inner: number; byCommand: Record<string, number> };
};
