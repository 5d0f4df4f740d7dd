import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';

/** The CLI, found next to this package (computed on use: under jsdom `import.meta.url` is no file URL). */
const bin = (): string => fileURLToPath(new URL('../../herald/bin/herald.js', import.meta.url));

/** Options of {@link startHeraldNode}. */
export interface HeraldNodeOptions {
  /** `--engine`: memory, redis://… or sqlite:… @default memory */
  readonly engine?: string;
  /** A fixed port (to restart a node where a proxy expects it). @default a free port */
  readonly port?: number;
  /** More `herald start` arguments. */
  readonly args?: readonly string[];
  /** More environment variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** How long to wait for the node to listen. @default 15000 */
  readonly timeout?: number;
}

/** A hub started with the built CLI, as a separate process. */
export interface HeraldNode {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Everything the process printed so far (JSON log lines and the banner). */
  output(): string;
  /** Resolves with the exit code (or the signal) once the process is gone. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** Sends a signal without waiting. */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<number | NodeJS.Signals>;
}

/** Starts `herald start --port <port> [--engine …]` and waits until it logs that it listens. */
export async function startHeraldNode(options: HeraldNodeOptions = {}): Promise<HeraldNode> {
  const port = options.port ?? (await freePort());
  const args = [
    bin(),
    'start',
    '--port',
    String(port),
    ...(options.engine !== undefined ? ['--engine', options.engine] : []),
    ...(options.args ?? []),
  ];
  const child: ChildProcess = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HERALD_LOG_LEVEL: 'info', ...options.env },
  });
  let output = '';
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code ?? 0)));
  const listening = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`herald node on port ${port} did not start:\n${output}`)), options.timeout ?? 15_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('"msg":"herald is listening"')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`herald node on port ${port} exited (${code}):\n${output}`));
    });
  });
  await listening;
  const kill = (signal: NodeJS.Signals): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    output: () => output,
    exited,
    kill,
    async stop(graceMs = 10_000) {
      kill('SIGTERM');
      const timer = setTimeout(() => kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
