/**
 * The publishes a demo's simulator has started and that have not settled yet, so that its `stop()`
 * can wait for them: a simulator publishes fire-and-forget, and a hub closed under a publish still
 * on its way would log it as failed.
 */
export class PublishTracker {
  readonly #pending = new Set<Promise<unknown>>();

  /** Keeps `publish` until it settles; its failure is dropped (the next tick publishes again). */
  track(publish: Promise<unknown>): void {
    const settled = publish.catch(() => {}).finally(() => this.#pending.delete(settled));
    this.#pending.add(settled);
  }

  /** Resolves once every publish tracked so far has settled. */
  async settled(): Promise<void> {
    await Promise.all(this.#pending);
  }
}
