const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the clients (load generators answering `progress`) have everything (`expected`) or
 * their count has stood still for a second (what is missing then is lost, not late), at most
 * `timeoutMs`, asking every `intervalMs`.
 */
export async function drain(clients, expected, timeoutMs = 10_000, intervalMs = 200) {
  let last = -1;
  let stillSince = Date.now();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const progress = await Promise.all(clients.map((c) => c.request('progress')));
    const received = progress.reduce((sum, p) => sum + p.received, 0);
    if (received >= expected) return;
    if (received !== last) {
      last = received;
      stillSince = Date.now();
    } else if (Date.now() - stillSince > 1000) {
      return;
    }
    await sleep(intervalMs);
  }
}
