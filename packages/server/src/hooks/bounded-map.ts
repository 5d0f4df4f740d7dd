/** Most hook calls one poll or SSE request has in flight at once; its other channels wait their turn. */
export const HOOK_CALLS_PER_REQUEST = 8;

/**
 * Runs `task` on each item with at most `limit` running at once and resolves with the results in
 * the items' order. Once a result makes `stop` true, no further task starts: the items not started
 * get `undefined`. `task` must not reject (turn a failure into a result).
 */
export async function boundedMap<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
  stop: (result: R) => boolean = () => false,
): Promise<(R | undefined)[]> {
  const results: (R | undefined)[] = Array.from({ length: items.length }, () => undefined);
  let next = 0;
  let stopped = false;
  const worker = async (): Promise<void> => {
    while (!stopped && next < items.length) {
      const index = next++;
      const result = await task(items[index]!);
      results[index] = result;
      if (stop(result)) stopped = true;
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
