import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { Collector } from './waiter.js';

/** A hub script running in a child process, driven line by line (see the webhook fixtures). */
export interface ChildHub {
  readonly child: ChildProcessWithoutNullStreams;
  /** Lines the child printed. */
  readonly lines: Collector<string>;
  /** Sends a line to its stdin. */
  send(line: string): void;
  /** Resolves once it printed `line`. */
  waitFor(line: string, timeoutMs?: number): Promise<void>;
  /** SIGKILL, resolving once it is gone. */
  kill(): Promise<void>;
  /** Resolves with its exit code or signal once it is gone. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
  /** What it wrote to stderr. */
  readonly stderr: () => string;
}

/** Runs `node <script> ...args`; resolves once it printed `ready`. */
export async function startChildHub(script: string, args: readonly string[]): Promise<ChildHub> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = new Collector<string>();
  let stderr = '';
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop()!;
    for (const line of parts) lines.push(line);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.once('close', (code, signal) => resolve(signal ?? code)));
  const hub: ChildHub = {
    child,
    lines,
    send: (line) => child.stdin.write(`${line}\n`),
    waitFor: async (line, timeoutMs = 15_000) => {
      await Promise.race([
        lines.until((all) => all.includes(line), `"${line}" from the child (stderr: ${stderr})`, timeoutMs),
        exited.then((how) => {
          if (!lines.items.includes(line)) throw new Error(`the child exited (${how}) before printing "${line}": ${stderr}`);
        }),
      ]);
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    exited,
    stderr: () => stderr,
  };
  await hub.waitFor('ready');
  return hub;
}
