import { redisCli, type TestRedisCluster } from '@herald/testkit';

/** Where a slot moved: its number and the two primaries' ports. */
export interface SlotMove {
  readonly slot: number;
  readonly from: number;
  readonly to: number;
}

/**
 * Moves the slot of `key` to another primary by hand, as `redis-cli --cluster reshard` does:
 * IMPORTING on the destination, MIGRATING on the source, every key of the slot copied with MIGRATE,
 * then `SETSLOT … NODE` on every primary. `sourceFirst` sets the source's new owner first and waits
 * `sourceFirst` ms before telling the others (the destination still importing meanwhile): the source
 * then drops its sharded subscribers of the slot while the destination still answers MOVED.
 */
export async function moveSlot(cluster: TestRedisCluster, key: string, options: { sourceFirst?: number } = {}): Promise<SlotMove> {
  const from = await cluster.primaryOf(key);
  await cluster.refreshRoles();
  const primaries = cluster.nodes.filter((node) => node.role === 'primary' && node.pid !== undefined).map((node) => node.port);
  const to = primaries.find((port) => port !== from);
  if (to === undefined) throw new Error('no other primary to move the slot to');
  const slot = Number(await redisCli(from, 'CLUSTER', 'KEYSLOT', key));
  const [fromId, toId] = [await redisCli(from, 'CLUSTER', 'MYID'), await redisCli(to, 'CLUSTER', 'MYID')];
  await redisCli(to, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId);
  await redisCli(from, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId);
  for (let batch = 0; batch < 1000; batch++) {
    const keys = (await redisCli(from, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '100')).split('\n').filter((k) => k !== '');
    if (keys.length === 0) break;
    await redisCli(from, 'MIGRATE', '127.0.0.1', String(to), '', '0', '5000', 'KEYS', ...keys);
  }
  const order = options.sourceFirst === undefined ? [to, from] : [from, to];
  await redisCli(order[0]!, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', toId);
  if (options.sourceFirst !== undefined) await new Promise((resolve) => setTimeout(resolve, options.sourceFirst));
  await redisCli(order[1]!, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', toId);
  for (const port of primaries) if (port !== from && port !== to) await redisCli(port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', toId);
  return { slot, from, to };
}

/** Retries `attempt` until it resolves (a client following a moved slot may fail once or twice). */
export async function eventually<T>(attempt: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
