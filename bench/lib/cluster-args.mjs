import { parseArgs } from 'node:util';

export const MODES = ['latency', 'throughput', 'roundtrips'];

export const CLUSTER_HELP = `Usage: npm run bench:cluster -- [options]      (or: node bench/cluster.mjs [options])

Herald over Redis: N WebSocket subscribers of one channel spread evenly over the nodes of a
configuration, ~100-byte messages published with POST /api/publish on node A, subscribers in
separate load-generator processes on 127.0.0.1. Every node is a fresh \`herald start --engine <redis>\`
process per measurement (a copy of the current build); every run uses a channel name of its own.
Needs a build first (npm run build) and a reachable Redis.

Modes (each measured in every configuration of --nodes; "all" does the three on one set of nodes):
  latency      publish→deliver p50/p99 at a fixed load, for subscribers on A (the publisher's node)
               and on the other nodes (across Redis) separately
  throughput   delivered messages/s across all subscribers, published as fast as they are received
               (bounded in flight), with CPU per node, Redis, load generator and publisher
  roundtrips   Redis commands per publish: INFO commandstats/stats before and after --publishes
               publishes spread over 11 s (whole Redis), and MONITOR attributing each command to
               this run's channel: round trips of the publish path, commands run inside its
               script, presence re-stamps and position checks; "unattributed" are commands
               naming no channel (other clients of a shared Redis, MULTI/EXEC, pings)

Options:
  --mode MODE          latency | throughput | roundtrips | all                    (default all)
  --subscribers N      subscribers in total, split evenly over the nodes          (default 10000)
  --nodes LIST         configurations to compare: node counts (1-16) on Redis, and "memory"
                       for one node on the memory engine (latency/throughput only) (default 1,2)
  --runs N             repetitions, interleaved over the configurations; medians reported
                                                                                  (default 3)
  --duration S         seconds of the latency phase and of the throughput phase   (default 5)
  --redis URL          redis://[:password@]host:port[/db], or "spawn" to start a private
                       redis-server on a free port for the session (exact, undisturbed counts)
                                                                  (default redis://127.0.0.1:6379)
  --latency-load N     deliveries/s during the latency phase; the publish rate is N / subscribers
                       msg/s (10,000 subscribers: 2 msg/s = 20,000 deliveries/s)   (default 20000)
  --window N           throughput: at most N messages per subscriber published but not yet
                       received (load generators report their counts over UDP)    (default 32)
  --in-flight N        publishes awaiting their HTTP answer, at most               (default 16)
  --publishes N        roundtrips: publishes counted (spread over 11 s)            (default 100)
  --per-client N       connections per load-generator process                     (default 5000)
  --pin                pin each node to a core of its own (taskset), the load generators,
                       publisher and a spawned Redis to the remaining cores; needs ≥ nodes + 2
                       cores (for repeating this on bigger hardware)
  --quiet-wait S       before each measurement, wait up to S seconds for other processes to
                       use under 0.3 cores (the machine is shared)                (default 10)
  --out DIR            where the JSON results go                                  (default bench/results)
  --help               this text

On 2 cores, the nodes, Redis, the load generators and the publisher all compete for the same CPU,
so 2 nodes cannot deliver more than 1 here; the throughput numbers say what the Redis path costs,
not how it scales. To measure scaling, repeat with --pin on a machine with a core per node and a
few more for Redis and the load generators (e.g. 8 cores: --nodes 1,2,4 --pin), or point --redis
at a Redis on its own machine.
`;

const list = (text) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function number(values, name, { min = 0, max = Infinity, integer = true } = {}) {
  const value = Number(values[name]);
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new RangeError(`--${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}${max === Infinity ? '' : ` and ≤ ${max}`}`);
  }
  return value;
}

/**
 * A configuration to measure: `nodes` Herald processes on `engine` ("redis" or "memory"). Its `name`
 * labels tables and results: "1 node", "2 nodes", "memory".
 */
function readConfig(text) {
  if (text === 'memory') return { name: 'memory', nodes: 1, engine: 'memory' };
  const nodes = Number(text);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 16) throw new RangeError(`--nodes: "${text}" is not a node count 1-16 or "memory"`);
  return { name: `${nodes} node${nodes === 1 ? '' : 's'}`, nodes, engine: 'redis' };
}

/** Parses the command line; throws TypeError/RangeError with a message naming the bad option. */
export function readClusterOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      mode: { type: 'string', default: 'all' },
      subscribers: { type: 'string', default: '10000' },
      nodes: { type: 'string', default: '1,2' },
      runs: { type: 'string', default: '3' },
      duration: { type: 'string', default: '5' },
      redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
      'latency-load': { type: 'string', default: '20000' },
      window: { type: 'string', default: '32' },
      'in-flight': { type: 'string', default: '16' },
      publishes: { type: 'string', default: '100' },
      'per-client': { type: 'string', default: '5000' },
      pin: { type: 'boolean', default: false },
      'quiet-wait': { type: 'string', default: '10' },
      out: { type: 'string', default: 'bench/results' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return { help: true };
  if (values.mode !== 'all' && !MODES.includes(values.mode)) throw new TypeError(`--mode must be ${MODES.join(', ')} or all`);
  const configs = list(values.nodes).map(readConfig);
  if (configs.length === 0) throw new RangeError('--nodes needs at least one configuration');
  if (new Set(configs.map((c) => c.name)).size !== configs.length) throw new RangeError('--nodes lists a configuration twice');
  const redis = values.redis;
  if (redis !== 'spawn' && !/^redis:\/\/[^\s/]+(\/\d+)?$/.test(redis))
    throw new TypeError('--redis must be redis://host:port[/db] or spawn');
  const subscribers = number(values, 'subscribers', { min: 1 });
  const maxNodes = Math.max(...configs.map((c) => c.nodes));
  if (subscribers < maxNodes) throw new RangeError(`--subscribers must be at least the number of nodes (${maxNodes})`);
  return {
    help: false,
    modes: values.mode === 'all' ? MODES : [values.mode],
    subscribers,
    configs,
    runs: number(values, 'runs', { min: 1 }),
    durationMs: number(values, 'duration', { min: 0.5, integer: false }) * 1000,
    redis,
    latencyLoad: number(values, 'latency-load', { min: 1 }),
    window: number(values, 'window', { min: 1 }),
    inFlight: number(values, 'in-flight', { min: 1 }),
    publishes: number(values, 'publishes', { min: 1 }),
    perClient: number(values, 'per-client', { min: 1, max: 15_000 }),
    pin: values.pin,
    quietWaitMs: number(values, 'quiet-wait', { integer: false }) * 1000,
    out: values.out,
  };
}
