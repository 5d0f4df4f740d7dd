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
   * Emits like {@link emit} and tells whether every listener returned without throwing: `true`,
   * `false`, or, when a listener returned a promise, a promise of that (`false` once one rejects).
   */
  protected emitTracked<K extends keyof E>(event: K, ...args: E[K]): boolean | Promise<boolean> {
    let ok = true;
    const waits: PromiseLike<unknown>[] = [];
    for (const listener of this.#listeners[event] ?? []) {
      try {
        const result = listener(...args);
        if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') waits.push(result as PromiseLike<unknown>);
      } catch (error) {
        ok = false;
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    if (!ok || waits.length === 0) return ok;
    return Promise.all(waits).then(
      () => true,
      () => false,
    );
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    for (const listener of this.#listeners[event] ?? []) {
      try {
        listener(...args);
      } catch (error) {
        // Surface the application's error without unwinding the SDK's state.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
