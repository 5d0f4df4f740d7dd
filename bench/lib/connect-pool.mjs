/**
 * Runs `connect(k)` for k = 0 … count-1, at most `concurrency` at a time (a listen backlog is
 * finite). Failures are counted, not thrown.
 */
export async function connectPool(count, concurrency, connect) {
  let next = 0;
  let failed = 0;
  let lastError;
  const worker = async () => {
    while (next < count) {
      try {
        await connect(next++);
      } catch (error) {
        failed++;
        lastError = String(error?.message ?? error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { connected: count - failed, failed, lastError };
}
