// A Herald node: runs the CLI's `main` (`herald start …`, arguments as given) inside this process,
// forked by cluster.mjs with an IPC channel, so the node goes when the benchmark goes, however it
// ends. BENCH_HERALD_CLI is the snapshot's dist/cli.js (lib/cluster-build.mjs).
const { main } = await import(process.env.BENCH_HERALD_CLI);

process.on('disconnect', () => process.exit(0));
// A measurement takes minutes; nothing a benchmark started may outlive a stuck orchestrator by long.
setTimeout(() => process.exit(3), Number(process.env.BENCH_LIFETIME_MS ?? 30 * 60_000)).unref();
process.exit(await main(process.argv.slice(2)));
