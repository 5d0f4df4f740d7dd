export declare const ENGINES: readonly string[];
export declare const CLUSTER_HELP: string;
/** A configuration to measure. */
export interface ClusterConfig {
  readonly name: string;
  readonly nodes: number;
  readonly engine: string;
}
export declare function readConfigs(nodesText: string, engines: readonly string[]): ClusterConfig[];
export declare function readEngines(text: string | undefined, available: readonly string[]): string[];
export declare function readClusterOptions(
  argv: readonly string[],
  available?: readonly string[],
): { help: true } | { help: false; engines: string[]; configs: ClusterConfig[]; subscribers: number; [key: string]: unknown };
