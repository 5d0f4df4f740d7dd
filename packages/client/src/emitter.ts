/** A minimal typed event emitter. A throwing listener never breaks delivery to the others. */
export class Emitter<E extends Record<string, unknown[]>> {
  #listeners: { [K in keyof E]?: Set<(...args: E[K]) => void> } = {};

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof E>(event: K, listener: (...args: E[K]) => void): () => void {
    (this.#listeners[event] ??= new Set()).add(listener);
    return () => this.#listeners[event]?.delete(listener);
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
