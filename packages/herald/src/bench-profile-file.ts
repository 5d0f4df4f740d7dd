import { readFileSync } from 'node:fs';
import { CliError } from './cli-error.js';
import { BENCH_PRESETS, isBenchPreset, type BenchPresetName, type BenchProfile } from './bench-profile.js';

/** The range of each numeric field of a workload, the same as its flag's. */
export const BENCH_FIELD_LIMITS: Record<keyof BenchProfile, { readonly min: number; readonly max: number; readonly integer: boolean }> = {
  clients: { min: 1, max: 10_000, integer: true },
  channels: { min: 1, max: 10_000, integer: true },
  publishRate: { min: 0.01, max: 1000, integer: false },
  messageSize: { min: 0, max: 60_000, integer: true },
  clientRate: { min: 0, max: 100, integer: false },
  duration: { min: 1, max: 3600, integer: true },
  pollInterval: { min: 50, max: 60_000, integer: true },
};

/** What a `--profile` file holds: a preset to start from and any of its fields. */
export interface BenchProfileFile {
  readonly preset?: BenchPresetName;
  readonly fields: Partial<BenchProfile>;
}

const isField = (key: string): key is keyof BenchProfile => Object.hasOwn(BENCH_FIELD_LIMITS, key);

/**
 * Reads the JSON workload of `herald bench --profile FILE`: an object with `preset` and any of the
 * fields of {@link BenchProfile} (`clients`, `channels`, `publishRate`, `messageSize`, `clientRate`,
 * `duration`, `pollInterval`), the `profile` of a `--json` report included. Throws a {@link CliError}
 * naming the file and the field for anything else.
 */
export function readBenchProfileFile(file: string): BenchProfileFile {
  const fail = (why: string): never => {
    throw new CliError(`--profile ${file}: ${why}`);
  };
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    fail(`cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    fail(`not JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return fail('must be a JSON object');
  let preset: BenchPresetName | undefined;
  const fields: { -readonly [K in keyof BenchProfile]?: BenchProfile[K] } = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (key === 'preset') {
      if (typeof value !== 'string' || !isBenchPreset(value))
        fail(`"preset" must be one of ${Object.keys(BENCH_PRESETS).join(', ')}, got ${JSON.stringify(value)}`);
      preset = value as BenchPresetName;
    } else if (isField(key)) {
      const { min, max, integer } = BENCH_FIELD_LIMITS[key];
      if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value)))
        fail(`"${key}" must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(value)}`);
      fields[key] = value as number;
    } else {
      const camel = key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      fail(
        `unknown field "${key}"${isField(camel) ? ` (did you mean "${camel}"?)` : ''}; the fields are preset, ${Object.keys(BENCH_FIELD_LIMITS).join(', ')}`,
      );
    }
  }
  return { ...(preset !== undefined && { preset }), fields };
}
