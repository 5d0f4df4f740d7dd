/** A minimal typed event emitter. A throwing listener never breaks delivery to the others. */
export class Emitter<E extends Record<string, unknown[]>> {
  #listeners: { [K in keyof E]?: Set<(...args: E[K]) => unknown> } = {};

  /**
   * Adds a listener; returns a function that removes it. What it returns is ignored, except by a
   * subscription with `ack: 'auto'`, which waits for a returned promise before acking the message.
   */
  on<K extends keyof E>(event: K, listener: (...args: E[K]) => unknown): () => void {
    (this.#listeners[event] ??= new Set()).add(listener);
    return () => this.#listeners[event]?.delete(listener);
  }

  /** Whether `event` has a listener. */
  protected hasListeners(event: keyof E): boolean {
    return (this.#listeners[event]?.size ?? 0) > 0;
  }

  /**
   * Calls every listener. Returns `false` when one threw (rethrown in a microtask), else the
   * promises the listeners returned (`undefined` when none did), for a caller that waits for them.
   */
  protected emit<K extends keyof E>(event: K, ...args: E[K]): false | PromiseLike<unknown>[] | undefined {
    let waits: PromiseLike<unknown>[] | undefined | false = undefined;
    for (const listener of this.#listeners[event] ?? []) {
      try {
        const result = listener(...args) as PromiseLike<unknown> | undefined;
        if (typeof result?.then === 'function' && waits !== false) {
          waits ??= [];
          waits.push(result);
        }
      } catch (error) {
        waits = false;
        // Surface the application's error without unwinding the SDK's state.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    return waits;
  }
}
