/** Collects items and lets a test await a condition over them, with a deadline instead of sleeps. */
export class Collector<T> {
  readonly items: T[] = [];
  #waiters: { predicate: (items: T[]) => boolean; resolve: () => void }[] = [];

  push(item: T): void {
    this.items.push(item);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.predicate(this.items)) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once `predicate(items)` holds; rejects after `timeoutMs` with `what` in the message. */
  until(predicate: (items: T[]) => boolean, what = 'condition', timeoutMs = 10_000): Promise<T[]> {
    if (predicate(this.items)) return Promise.resolve(this.items);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what} (have ${this.items.length} items)`)), timeoutMs);
      this.#waiters.push({
        predicate,
        resolve: () => {
          clearTimeout(timer);
          resolve(this.items);
        },
      });
    });
  }

  /** Resolves once at least `n` items arrived. */
  count(n: number, timeoutMs?: number): Promise<T[]> {
    return this.until((items) => items.length >= n, `${n} items`, timeoutMs);
  }
}
