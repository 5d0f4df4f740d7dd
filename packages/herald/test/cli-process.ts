import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from '@herald/testkit';

/** The built CLI (`npm run build` first). */
export const BIN = fileURLToPath(new URL('../bin/herald.js', import.meta.url));

/** A `herald …` process the test started. */
export interface CliProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The exit code (or the signal's name) once the process is gone. */
  readonly exited: Promise<number | string>;
  /** Resolves once stdout (or stderr) matches `pattern`; rejects naming what was printed. */
  waitFor(pattern: RegExp, stream?: 'stdout' | 'stderr'): Promise<RegExpMatchArray>;
}

/** Every process started, killed after each test (see {@link killAll}) even when a test failed. */
const started = new Set<ChildProcess>();

/**
 * Starts `herald <args>`; `input`, when given, is written to stdin, which is then closed; with
 * `openStdin` stdin stays open for the test to write to (`child.stdin`).
 */
export function startCli(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; openStdin?: boolean } = {},
): CliProcess {
  // The caller's HERALD_* variables (and a platform's PORT) must not leak into the process under test.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HERALD_') && name !== 'PORT'));
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...env, ...options.env } });
  started.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  child.stdin.on('error', () => {});
  if (options.input !== undefined) child.stdin.end(options.input);
  else if (options.openStdin !== true) child.stdin.end();
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      started.delete(child);
      resolve(signal ?? code ?? 0);
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (pattern, stream = 'stdout') =>
      eventually(
        () => (stream === 'stdout' ? out : err).match(pattern),
        (match): match is RegExpMatchArray => match !== null,
        `herald ${args.join(' ')} to print ${String(pattern)} on ${stream}; stdout: ${out}; stderr: ${err}`,
        { timeoutMs: 15_000, intervalMs: 10 },
      ) as Promise<RegExpMatchArray>,
  };
}

/** Runs `herald <args>` to its end. */
export async function runCli(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<{ status: number | string; stdout: string; stderr: string }> {
  const cli = startCli(args, options);
  const status = await cli.exited;
  return { status, stdout: cli.stdout(), stderr: cli.stderr() };
}

/** A hub started with `herald start --port 0 <args>`. */
export interface CliHub extends CliProcess {
  readonly url: string;
}

/** Starts `herald start --port 0 <args>` and resolves once it logs the URL it listens on. */
export async function startCliHub(args: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<CliHub> {
  const hub = startCli(['start', '--port', '0', ...args], { env: { HERALD_LOG_LEVEL: 'info', ...env } });
  const failed = hub.exited.then((code) => {
    throw new Error(`herald start exited with ${code}: ${hub.stderr()}`);
  });
  // Only raced: a hub stopped later by its test is no failure.
  failed.catch(() => {});
  const [line] = await Promise.race([hub.waitFor(/^.*"msg":"herald is listening".*$/m), failed]);
  return { ...hub, url: (JSON.parse(line) as { url: string }).url };
}

/** Writes `config` as a JSON file in a new temporary directory; returns its path. */
export function writeConfig(config: object): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-cli-'));
  dirs.push(dir);
  const file = join(dir, 'herald.config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/** A new temporary directory, removed by {@link killAll}. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-cli-'));
  dirs.push(dir);
  return dir;
}

const dirs: string[] = [];

/** Kills every process still running and removes the temporary directories; for `afterEach`. */
export async function killAll(): Promise<void> {
  const gone = [...started].map((child) => new Promise((resolve) => child.once('exit', resolve)));
  for (const child of started) child.kill('SIGKILL');
  await Promise.all(gone);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
