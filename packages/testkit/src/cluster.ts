import { startHeraldNode, type HeraldNode } from './herald-node.js';
import { startNginx, type TestNginx } from './nginx.js';

/** Several hub processes (the built CLI) on one engine, optionally behind nginx. */
export interface Cluster {
  readonly nodes: readonly HeraldNode[];
  /** Round-robin over every node, no stickiness (present when asked for). */
  readonly nginx: TestNginx | undefined;
  /**
   * Stops nginx and every node still running (the engine is the caller's); throws once everything
   * is stopped if any step failed.
   */
  close(): Promise<void>;
}

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** The `--engine` value every node gets: `redis://…`, `nats://…`, … */
  readonly engine: string;
  /** @default 3 */
  readonly nodes?: number;
  /** Put nginx (WebSocket upgrades forwarded, no buffering) in front of the nodes. @default false */
  readonly nginx?: boolean;
  /** More `herald start` arguments for every node. */
  readonly args?: readonly string[];
}

/** Starts `nodes` hubs on `engine` (and nginx over them); on a failure, stops what started. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const nodes: HeraldNode[] = [];
  let nginx: TestNginx | undefined;
  const close = async (): Promise<void> => {
    // Every step runs even when another fails. A node gets SIGTERM, then SIGKILL after 3 s: one
    // that hangs in shutdown does not hang the suite.
    const results = await Promise.allSettled([nginx?.close(), ...nodes.map((node) => node.stop(3000))]);
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failures.length > 0) throw new AggregateError(failures, 'cluster cleanup failed');
  };
  try {
    const started = await Promise.allSettled(
      Array.from({ length: options.nodes ?? 3 }, () => startHeraldNode({ engine: options.engine, args: options.args ?? [] })),
    );
    for (const result of started) if (result.status === 'fulfilled') nodes.push(result.value);
    const failed = started.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    if (options.nginx === true) nginx = await startNginx({ upstreamPorts: nodes.map((n) => n.port), upgrade: true, buffering: false });
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  return { nodes, nginx, close };
}
