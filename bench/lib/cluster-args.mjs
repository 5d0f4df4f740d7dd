import { parseArgs } from 'node:util';

export const MODES = ['latency', 'throughput', 'roundtrips'];

/** The engines a configuration can run on (besides "memory"), in the order tables list them. */
export const ENGINES = ['redis', 'redis-cluster', 'redis-sentinel', 'nats', 'nats-r3'];

/** What each engine is, for --help and the report. */
export const ENGINE_DESCRIPTIONS = {
  redis: 'one redis-server (--redis: a URL, or spawn)',
  'redis-cluster': 'Redis Cluster spawned here: 3 primaries + 3 replicas (6 redis-server), sharded pub/sub',
  'redis-sentinel': 'Redis Sentinel spawned here: primary + 1 replica + 3 sentinels',
  nats: 'one nats-server with JetStream spawned here (stream and buckets R1)',
  'nats-r3': 'three nats-server with JetStream spawned here as a cluster (stream and buckets R3)',
};

export const CLUSTER_HELP = `Usage: npm run bench:cluster -- [options]      (or: node bench/cluster.mjs [options])

Herald across nodes on each distributed engine: N WebSocket subscribers of one channel spread
evenly over the nodes of a configuration, ~100-byte messages published with POST /api/publish on
node A, subscribers in separate load-generator processes on 127.0.0.1. Every node is a fresh
\`herald start --engine <engine>\` process per measurement (a copy of the current build); every run
uses a channel name of its own. Needs a build first (npm run build). The engine servers (except a
--redis URL) are spawned by the benchmark once per session, each on free ports with a temporary
directory, and stopped by pid at the end (and on SIGINT/SIGTERM).

Engines (--engines; each measured with every node count of --nodes):
  redis            ${ENGINE_DESCRIPTIONS.redis}
  redis-cluster    ${ENGINE_DESCRIPTIONS['redis-cluster']}
  redis-sentinel   ${ENGINE_DESCRIPTIONS['redis-sentinel']}
  nats             ${ENGINE_DESCRIPTIONS.nats}
  nats-r3          ${ENGINE_DESCRIPTIONS['nats-r3']}

Modes (each measured in every configuration; "all" does the three on one set of nodes):
  latency      publish→deliver p50/p99 at a fixed load, for subscribers on A (the publisher's node)
               and on the other nodes (across the engine) separately
  throughput   delivered messages/s across all subscribers, published as fast as they are received
               (bounded in flight), with CPU per node, engine servers, load generator and publisher
  roundtrips   engine traffic per publish, --publishes publishes spread over 11 s.
               Redis kinds: INFO commandstats/stats before and after, summed over the engine's
               primaries (whole servers), and MONITOR on the server holding the run's channel,
               attributing each command to it: round trips of the publish path, commands run inside
               its script, presence re-stamps and position checks; "unattributed" are commands
               naming no channel (other clients of a shared Redis, MULTI/EXEC, pings, sentinels).
               NATS: every server's monitoring endpoint (/connz, /varz, /jsz) before and after:
               messages each Herald connection sent and received (by connection name: broker,
               presence, tickets; node A's broker = the publish path), server totals, JetStream
               API requests

Options:
  --mode MODE          latency | throughput | roundtrips | all                    (default all)
  --engines LIST       engines to measure, from: ${ENGINES.join(', ')}
                       (default: all whose servers can be spawned here: redis, plus
                       redis-cluster/redis-sentinel with redis-server and redis-cli on the PATH,
                       nats/nats-r3 with nats-server on the PATH)
  --subscribers N      subscribers in total, split evenly over the nodes          (default 10000)
  --nodes LIST         node counts (1-16) to measure on each engine, and "memory" for one node
                       on the memory engine (latency/throughput only)             (default 1,2)
  --runs N             repetitions, interleaved over the configurations; medians reported
                                                                                  (default 3)
  --duration S         seconds of the latency phase and of the throughput phase   (default 5)
  --redis URL          the "redis" engine: redis://[:password@]host:port[/db], or "spawn" to start
                       a private redis-server on a free port for the session (exact, undisturbed
                       counts)                                    (default redis://127.0.0.1:6379)
  --latency-load N     deliveries/s during the latency phase; the publish rate is N / subscribers
                       msg/s (10,000 subscribers: 2 msg/s = 20,000 deliveries/s)   (default 20000)
  --window N           throughput: at most N messages per subscriber published but not yet
                       received (load generators report their counts over UDP)    (default 32)
  --in-flight N        publishes awaiting their HTTP answer, at most               (default 16)
  --publishes N        roundtrips: publishes counted (spread over 11 s)            (default 100)
  --per-client N       connections per load-generator process                     (default 5000)
  --pin                pin each node to a core of its own (taskset), the load generators,
                       publisher and spawned engine servers to the remaining cores; needs
                       ≥ nodes + 2 cores (for repeating this on bigger hardware)
  --quiet-wait S       before each measurement, wait up to S seconds for other processes to
                       use under 0.3 cores (the machine is shared)                (default 10)
  --out DIR            where the JSON results go                                  (default bench/results)
  --help               this text

On 2 cores, the nodes, the engine servers, the load generators and the publisher all compete for
the same CPU, so 2 nodes cannot deliver more than 1 here; the throughput numbers say what each
engine's path costs, not how it scales. To measure scaling, repeat with --pin on a machine with a
core per node and a few more for the engine and the load generators (e.g. 8 cores: --nodes 1,2,4
--pin), or point --redis at a Redis on its own machine.
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
 * The configurations to measure: every node count of `--nodes` on every engine of `--engines`
 * (engine-major), and "memory" once. A configuration is `{name, nodes, engine}`; its `name` labels
 * tables and results: "redis, 1 node", "nats-r3, 2 nodes", "memory".
 */
export function readConfigs(nodesText, engines) {
  const configs = [];
  const counts = [];
  let memory = false;
  for (const text of list(nodesText)) {
    if (text === 'memory') {
      memory = true;
      continue;
    }
    const nodes = Number(text);
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > 16)
      throw new RangeError(`--nodes: "${text}" is not a node count 1-16 or "memory"`);
    if (counts.includes(nodes)) throw new RangeError('--nodes lists a configuration twice');
    counts.push(nodes);
  }
  if (memory) configs.push({ name: 'memory', nodes: 1, engine: 'memory' });
  for (const engine of engines)
    for (const nodes of counts) configs.push({ name: `${engine}, ${nodes} node${nodes === 1 ? '' : 's'}`, nodes, engine });
  if (configs.length === 0) throw new RangeError('--nodes needs at least one configuration');
  return configs;
}

/** `--engines`: a list of {@link ENGINES}, each once; `available` (what can be spawned here) when absent. */
export function readEngines(text, available) {
  if (text === undefined) return available;
  const engines = list(text);
  if (engines.length === 0) throw new RangeError('--engines needs at least one engine');
  for (const engine of engines)
    if (!ENGINES.includes(engine)) throw new TypeError(`--engines: "${engine}" is not one of ${ENGINES.join(', ')}`);
  if (new Set(engines).size !== engines.length) throw new RangeError('--engines lists an engine twice');
  return ENGINES.filter((e) => engines.includes(e));
}

/**
 * Parses the command line; throws TypeError/RangeError with a message naming the bad option.
 * `available`: the engines whose servers can be started here (the default of --engines).
 */
export function readClusterOptions(argv, available = ENGINES) {
  const { values } = parseArgs({
    args: argv,
    options: {
      mode: { type: 'string', default: 'all' },
      subscribers: { type: 'string', default: '10000' },
      nodes: { type: 'string', default: '1,2' },
      engines: { type: 'string' },
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
  const engines = readEngines(values.engines, available);
  const configs = readConfigs(values.nodes, engines);
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
    engines,
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
