import { fork } from 'node:child_process';

/**
 * Request/response over a forked child's IPC channel. The orchestrator drives every process this
 * way, so each step has a clear end and a child never outlives the run.
 */
export class ChildProcess {
  #child;
  #next = 1;
  #pending = new Map();
  #exited;

  /** Forks `script` with `args`; `execArgv` adds Node flags (for example `--expose-gc`). */
  constructor(script, args = [], execArgv = []) {
    this.#child = fork(script, args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#child.on('message', (message) => {
      const waiter = this.#pending.get(message.id);
      if (waiter === undefined) return;
      this.#pending.delete(message.id);
      if (message.error !== undefined) waiter.reject(new Error(message.error));
      else waiter.resolve(message.result);
    });
    this.#exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        for (const waiter of this.#pending.values()) waiter.reject(new Error(`${script} exited (${signal ?? code})`));
        this.#pending.clear();
        resolve();
      });
    });
  }

  get pid() {
    return this.#child.pid;
  }

  /** Sends `{cmd, ...fields}` and resolves with the child's result; rejects after `timeoutMs`. */
  request(cmd, fields = {}, timeoutMs = 60_000) {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`${cmd} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const settle = (fn) => (value) => {
        clearTimeout(timer);
        fn(value);
      };
      this.#pending.set(id, { resolve: settle(resolve), reject: settle(reject) });
      this.#child.send({ id, cmd, ...fields });
    });
  }

  /**
   * Asks the child to exit (so `--cpu-prof` can write its profile), then kills it by its own pid if it
   * has not exited within `graceMs`; waits for the exit either way.
   */
  async stop(graceMs = 3000) {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      if (this.#child.connected) this.#child.send({ id: 0, cmd: 'exit' });
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
      await this.#exited;
      clearTimeout(timer);
    }
    await this.#exited;
  }
}

/**
 * The child side: answers each request with `handlers[cmd](message)`. The child exits when its parent
 * goes away, and after `lifetimeMs` in any case, so a crashed orchestrator leaves nothing behind.
 */
export function serve(handlers, lifetimeMs = 10 * 60_000) {
  process.on('message', (message) => {
    if (message.cmd === 'exit') process.exit(0);
    const handler = handlers[message.cmd];
    Promise.resolve()
      .then(() => {
        if (handler === undefined) throw new Error(`unknown command ${message.cmd}`);
        return handler(message);
      })
      .then(
        (result) => process.send({ id: message.id, result }),
        (error) => process.send({ id: message.id, error: String(error?.stack ?? error) }),
      );
  });
  process.on('disconnect', () => process.exit(0));
  setTimeout(() => process.exit(3), lifetimeMs).unref();
}
