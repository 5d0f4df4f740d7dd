import { parseArgs } from 'node:util';
import { TARGETS, TRANSPORTS } from './targets.mjs';

export const HELP = `Usage: npm run bench -- [options]      (or: node bench/run.mjs [options])

Fan-out benchmark: N subscribers of one channel, ~100-byte messages published inside the server
process, clients in separate processes on 127.0.0.1. Per target: delivered messages/s at the highest
rate the server sustains, publish→receive latency at a fixed moderate load, and server RSS per idle
connection. Needs a build first (npm run build).

Options:
  --subscribers LIST     subscriber counts                            (default 1000,10000)
  --transports LIST      ws,sse,poll,poll-load                        (default all; poll-load: long
                         polling with at most 4 messages per subscriber in flight, so polls are
                         mostly answered at once from the log)
  --targets LIST         explicit targets, overrides --transports:
                         ${Object.keys(TARGETS).join(', ')}
  --runs N               repetitions; medians are reported            (default 3)
  --duration S           seconds of the throughput phase              (default 4)
  --latency-duration S   seconds of the fixed-load latency phase      (default 3)
  --latency-load N       deliveries/s during the latency phase; the publish rate is N / subscribers
                                                                      (default 10000)
  --burst N              messages published per event-loop turn in the throughput phase
                                                                      (default 8)
  --window N             throughput phase: at most N messages per subscriber published but not
                         yet received (clients report their counts to the server by UDP)
                                                                      (default 32; poll-load: 4)
  --per-client N         connections per client process               (default 5000)
  --sample N             connections that record latency (spread evenly) (default 200)
  --quiet-wait S         before each measurement, wait up to S seconds for other processes to use
                         under 0.3 cores (the machine is shared)      (default 10)
  --retries N            repeat a measurement during which other processes used over 0.3 cores,
                         up to N times, keeping the quietest attempt  (default 1)
  --out DIR              where the JSON results go                    (default bench/results)
  --help                 this text
`;

const list = (text) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function number(values, name, { min = 0, integer = true } = {}) {
  const value = Number(values[name]);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new RangeError(`--${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}`);
  }
  return value;
}

/** Parses the command line; throws TypeError/RangeError with a message naming the bad option. */
export function readOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      subscribers: { type: 'string', default: '1000,10000' },
      transports: { type: 'string', default: 'ws,sse,poll,poll-load' },
      targets: { type: 'string' },
      runs: { type: 'string', default: '3' },
      duration: { type: 'string', default: '4' },
      'latency-duration': { type: 'string', default: '3' },
      'latency-load': { type: 'string', default: '10000' },
      burst: { type: 'string', default: '8' },
      window: { type: 'string', default: '32' },
      'per-client': { type: 'string', default: '5000' },
      sample: { type: 'string', default: '200' },
      'quiet-wait': { type: 'string', default: '10' },
      retries: { type: 'string', default: '1' },
      out: { type: 'string', default: 'bench/results' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return { help: true };
  const subscribers = list(values.subscribers).map(Number);
  if (subscribers.some((n) => !Number.isInteger(n) || n < 1)) throw new RangeError('--subscribers must be positive integers');
  let targets;
  if (values.targets !== undefined) {
    targets = list(values.targets);
  } else {
    const transports = list(values.transports);
    for (const t of transports)
      if (!(t in TRANSPORTS)) throw new TypeError(`unknown transport ${t}; use ${Object.keys(TRANSPORTS).join(', ')}`);
    targets = transports.flatMap((t) => TRANSPORTS[t]);
  }
  for (const t of targets) if (!(t in TARGETS)) throw new TypeError(`unknown target ${t}; use ${Object.keys(TARGETS).join(', ')}`);
  return {
    help: false,
    subscribers,
    targets,
    runs: number(values, 'runs', { min: 1 }),
    durationMs: number(values, 'duration', { min: 0.5, integer: false }) * 1000,
    latencyDurationMs: number(values, 'latency-duration', { min: 0.5, integer: false }) * 1000,
    latencyLoad: number(values, 'latency-load', { min: 1 }),
    burst: number(values, 'burst', { min: 1 }),
    window: number(values, 'window', { min: 1 }),
    perClient: number(values, 'per-client', { min: 1 }),
    sample: number(values, 'sample', { min: 1 }),
    retries: number(values, 'retries'),
    quietWaitMs: number(values, 'quiet-wait', { integer: false }) * 1000,
    out: values.out,
  };
}
