import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';
import { isRunning, processGroupMembers } from './processes.js';

/** The monorepo's root (computed on use: under jsdom `import.meta.url` is no file URL). */
const root = (): string => fileURLToPath(new URL('../../../', import.meta.url));
/** The CLI, found next to this package. */
const bin = (): string => fileURLToPath(new URL('../../herald/bin/herald.js', import.meta.url));

/** How {@link startHeraldNode} runs the CLI. */
export type HeraldLauncher = 'node' | 'npx' | 'npm-start';

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
  /**
   * `node bin/herald.js start` (the node is the hub), `npx herald start` or `npm start --` from the
   * repository's root (the node is npm, with a shell and the hub below it). Every launcher but
   * `node` runs in its own process group (see `group`), so {@link HeraldNode.killGroup} reaches the whole tree.
   * @default node
   */
  readonly launcher?: HeraldLauncher;
  /**
   * `fifo`: stdout is a named pipe whose read end the test holds, so it can fill it
   * ({@link HeraldNode.blockStdout}). @default pipe
   */
  readonly stdout?: 'pipe' | 'fifo';
  /** Run in a process group of its own, as a process manager does. @default true unless the launcher is `node` */
  readonly group?: boolean;
}

/** A hub started with the built CLI, as a separate process. */
export interface HeraldNode {
  readonly url: string;
  readonly port: number;
  /** The process started: the hub with the `node` launcher, npm otherwise. */
  readonly pid: number;
  /** The hub's own process (from its `herald is listening` line). */
  readonly hubPid: number;
  /** Everything the process printed so far (JSON log lines and the banner), stdout and stderr together. */
  output(): string;
  /** What it printed on stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or the signal) once the started process is gone. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** Sends a signal to the started process without waiting. */
  kill(signal: NodeJS.Signals): void;
  /** Sends a signal to the started process's group (with `group`; to the started process otherwise). */
  killGroup(signal: NodeJS.Signals): void;
  /** Closes the test's read end of stdout and/or stderr: the hub's next write there fails with EPIPE. */
  closeOutput(which?: 'stdout' | 'stderr' | 'both'): void;
  /**
   * Stops reading stdout and fills the pipe (`stdout: 'fifo'` only): the hub's next write gets
   * EAGAIN until {@link closeOutput} closes it.
   */
  blockStdout(): void;
  /**
   * Resolves with how many ms it took once the hub process (and, with its own group, every process
   * of the group) is gone; rejects after `timeoutMs`.
   */
  gone(timeoutMs: number): Promise<number>;
  /** SIGTERM, then SIGKILL to the hub and its group after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<number | NodeJS.Signals>;
}

/** SIGKILLs of every node still running in this process. */
const running = new Set<() => void>();
let hooked = false;

/**
 * Kills every node still running when this test process ends, on a failure, a signal or a normal
 * exit: a hub must never outlive the tests that started it.
 */
function hookProcessEnd(): void {
  if (hooked) return;
  hooked = true;
  const killAll = (): void => {
    for (const kill of running) kill();
    running.clear();
  };
  process.once('exit', killAll);
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAll();
      // Die of the signal as we would have, unless someone else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.once(signal, onSignal);
  }
}

function command(launcher: HeraldLauncher, args: readonly string[]): [string, string[]] {
  switch (launcher) {
    case 'node':
      return [process.execPath, [bin(), 'start', ...args]];
    case 'npx':
      return ['npx', ['--no-install', 'herald', 'start', ...args]];
    case 'npm-start':
      return ['npm', ['start', '--silent', '--', ...args]];
  }
}

/** A named pipe whose ends the test holds; the hub writes to a copy of the write end. */
function namedPipe(): { dir: string; reader: number; writer: number } {
  const dir = mkdtempSync(join(tmpdir(), 'herald-fifo-'));
  const path = join(dir, 'stdout');
  const made = spawnSync('mkfifo', [path]);
  if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr.toString()}`);
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  return { dir, reader, writer };
}

/** The test's end of a named pipe: read by polling, so that once stopped, nothing more is taken from the pipe. */
interface FifoReader {
  readonly stream: Readable;
  /** Stops reading for good (what the pipe holds stays there). */
  stop(): void;
  /** Stops reading and closes the read end. */
  close(): void;
}

function readFifo(fd: number): FifoReader {
  const stream = new Readable({ read() {} });
  const chunk = Buffer.alloc(65_536);
  let open = true;
  const timer = setInterval(() => {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') clearInterval(timer);
        return;
      }
      if (n === 0) {
        // No writer left.
        clearInterval(timer);
        return;
      }
      stream.push(Buffer.from(chunk.subarray(0, n)));
    }
  }, 10);
  return {
    stream,
    stop: () => clearInterval(timer),
    close() {
      clearInterval(timer);
      if (open) closeSync(fd);
      open = false;
      stream.destroy();
    },
  };
}

/** Starts `herald start --port <port> [--engine …]` and waits until it logs that it listens. */
export async function startHeraldNode(options: HeraldNodeOptions = {}): Promise<HeraldNode> {
  const port = options.port ?? (await freePort());
  const launcher = options.launcher ?? 'node';
  const [file, args] = command(launcher, [
    '--port',
    String(port),
    ...(options.engine !== undefined ? ['--engine', options.engine] : []),
    ...(options.args ?? []),
  ]);
  const fifo = options.stdout === 'fifo' ? namedPipe() : undefined;
  const group = options.group ?? launcher !== 'node';
  let child: ChildProcess;
  try {
    child = spawn(file, args, {
      cwd: root(),
      stdio: ['ignore', fifo?.writer ?? 'pipe', 'pipe'],
      detached: group,
      env: { ...process.env, HERALD_LOG_LEVEL: 'info', ...options.env },
    });
  } finally {
    // The hub holds its own copy of the write end; the test keeps one only to fill the pipe.
    if (fifo !== undefined) rmSync(fifo.dir, { recursive: true, force: true });
  }
  hookProcessEnd();
  let hubPid: number | undefined;
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  const signal = (target: number, name: NodeJS.Signals): void => {
    try {
      process.kill(target, name);
    } catch {
      // Gone already.
    }
  };
  const killNow = (): void => {
    if (group) signal(-child.pid!, 'SIGKILL');
    else if (alive()) child.kill('SIGKILL');
    if (hubPid !== undefined && hubPid !== child.pid) signal(hubPid, 'SIGKILL');
  };
  running.add(killNow);
  const exited = new Promise<number | NodeJS.Signals>((resolve) =>
    child.once('exit', (code, sig) => {
      if (!group) running.delete(killNow);
      resolve(sig ?? code ?? 0);
    }),
  );

  const reader = fifo !== undefined ? readFifo(fifo.reader) : undefined;
  const stdout: Readable = reader?.stream ?? child.stdout!;
  const closeStdout = (): void => {
    if (reader !== undefined) reader.close();
    else stdout.destroy();
  };
  let all = '';
  let err = '';
  stdout.on('error', () => {});
  child.stderr!.on('error', () => {});
  child.stderr!.on('data', (chunk: Buffer) => {
    all += chunk.toString();
    err += chunk.toString();
  });
  stdout.on('data', (chunk: Buffer) => (all += chunk.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`herald node on port ${port} did not start:\n${all}`)), options.timeout ?? 15_000);
      const onData = (): void => {
        const line = all.split('\n').find((l) => l.includes('"msg":"herald is listening"'));
        if (line === undefined) return;
        clearTimeout(timer);
        hubPid = (JSON.parse(line) as { pid: number }).pid;
        resolve();
      };
      stdout.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`herald node on port ${port} exited (${code}):\n${all}`));
      });
    });
  } catch (error) {
    killNow();
    running.delete(killNow);
    if (fifo !== undefined) closeSync(fifo.writer);
    closeStdout();
    throw error;
  }
  const pid = hubPid!;

  const kill = (name: NodeJS.Signals): void => {
    if (alive()) child.kill(name);
  };
  const members = (): number[] => (group ? processGroupMembers(child.pid!) : []);
  const gone = async (timeoutMs: number): Promise<number> => {
    const started = performance.now();
    for (;;) {
      if (!isRunning(pid) && members().length === 0) {
        if (group) running.delete(killNow);
        return performance.now() - started;
      }
      if (performance.now() - started > timeoutMs)
        throw new Error(
          `herald process ${pid} still running ${timeoutMs} ms later (group members: ${members().join(', ') || 'none'}):\n${all}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  let writerOpen = fifo !== undefined;
  const closeWriter = (): void => {
    if (writerOpen) closeSync(fifo!.writer);
    writerOpen = false;
  };
  void exited.then(closeWriter);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    hubPid: pid,
    output: () => all,
    stderr: () => err,
    exited,
    kill,
    killGroup: (name) => (group ? signal(-child.pid!, name) : kill(name)),
    closeOutput(which = 'both') {
      if (which !== 'stderr') {
        closeWriter();
        closeStdout();
      }
      if (which !== 'stdout') child.stderr!.destroy();
    },
    blockStdout() {
      if (reader === undefined || !writerOpen) throw new Error("blockStdout needs { stdout: 'fifo' } and an open pipe");
      reader.stop();
      const filler = Buffer.alloc(4096, 0x20);
      for (;;) {
        try {
          writeSync(fifo!.writer, filler);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EAGAIN') break;
          throw error;
        }
      }
      // A few bytes may still fit; fill them byte by byte so the hub's next line cannot.
      for (;;) {
        try {
          writeSync(fifo!.writer, filler.subarray(0, 1));
        } catch {
          break;
        }
      }
    },
    gone,
    async stop(graceMs = 10_000) {
      kill('SIGTERM');
      const timer = setTimeout(killNow, graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
        if (group) {
          await gone(graceMs).catch(() => killNow());
        }
        running.delete(killNow);
        closeWriter();
        closeStdout();
      }
    },
  };
}
