/** A program the tests run. */
export interface Program {
  readonly name: string;
  /** Looked up on PATH, when set. */
  readonly command?: string;
  /** Run at this absolute path, when set. */
  readonly path?: string;
  /** Debian's package providing it. */
  readonly debian: string;
  readonly usedBy: string;
}
/** What {@link planPrerequisites} decides on. */
export interface MachineFacts {
  readonly isRoot: boolean;
  readonly isDebian: boolean;
  readonly hasAptGet: boolean;
}
export type PrerequisitePlan = { action: 'none' } | { action: 'install'; packages: string[] } | { action: 'stop'; message: string };
/** A Redis for the tests; `stop` set when it was started for this run. */
export interface TestRunRedis {
  url: string;
  stop: (() => void) | undefined;
  pid?: number;
}
export declare const REDIS_URL_VARIABLE: 'HERALD_TEST_REDIS_URL';
export declare const DEFAULT_REDIS_URL: string;
export declare const PROGRAMS: readonly Program[];
export declare function findCommand(command: string, searchPath?: string, isExecutable?: (file: string) => boolean): string | undefined;
export declare function missingPrograms(searchPath?: string, isExecutable?: (file: string) => boolean): Program[];
export declare function planPrerequisites(missing: readonly Program[], facts: MachineFacts): PrerequisitePlan;
export declare function machineFacts(): MachineFacts;
export declare function redisAnswers(url: string, timeoutMs?: number): Promise<boolean>;
export declare function freePort(): Promise<number>;
export declare function startRunRedis(options?: {
  command?: string;
  timeoutMs?: number;
}): Promise<{ url: string; pid: number; stop: () => void }>;
export declare function ensureRedis(env?: NodeJS.ProcessEnv, options?: { defaultUrl?: string; command?: string }): Promise<TestRunRedis>;
export declare function aptInstall(packages: readonly string[]): boolean;
export declare function ensurePrerequisites(env?: NodeJS.ProcessEnv, facts?: MachineFacts): Promise<TestRunRedis>;
