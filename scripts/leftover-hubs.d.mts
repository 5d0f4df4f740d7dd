/** The environment variable that marks a test run's processes. */
export declare const RUN_VARIABLE: 'HERALD_TEST_RUN';
/** Live processes of run `runId` that run `herald start`. */
export declare function findLeftoverHubs(runId: string): { pid: number; command: string }[];
/** Waits up to `graceMs` for the run's hubs to go, then SIGKILLs and prints every one left; returns how many. */
export declare function reapLeftoverHubs(runId: string, graceMs?: number): Promise<number>;
