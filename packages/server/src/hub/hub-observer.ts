/** How a live-path repair ended. */
export type RepairOutcome = 'filled' | 'gap' | 'abandoned';

/**
 * What the hub reports as it works, for metrics. Called on the hot path: implementations must be
 * cheap (a counter increment) and must not throw.
 */
export interface HubObserver {
  /** A publish was answered: stored, or a duplicate of an earlier one (idempotency key). */
  published(duplicate: boolean): void;
  /** A live message of `channel` was dispatched to this node's subscribers and listeners. */
  dispatched(channel: string): void;
  /** A hole on the live path was repaired from the log, became a gap, or was given up. */
  repaired(outcome: RepairOutcome): void;
  /** The engine was asked to start a new epoch after losing acknowledged messages. */
  epochRenewed(): void;
}

/** An observer that ignores everything (the default). */
export const NO_OBSERVER: HubObserver = { published() {}, dispatched() {}, repaired() {}, epochRenewed() {} };
