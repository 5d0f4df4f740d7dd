/**
 * Whether the node takes new work: not before it listens (a hub mounted on an app's server: from its
 * creation), and not once it drains or closes. `/readyz` (`/healthz`) and WebSocket upgrades answer 503 while it
 * is not ready; everything else keeps working.
 */
export class Readiness {
  #ready = false;
  #draining = false;

  /** Listening and not draining. */
  get ready(): boolean {
    return this.#ready;
  }

  /** {@link Readiness.drain} was called (shutting down), as opposed to not listening yet. */
  get draining(): boolean {
    return this.#draining;
  }

  /** The server listens (or the mounted hub was created): ready. */
  listening(): void {
    this.#ready = true;
  }

  /** The node is leaving (drain or close): not ready from now. */
  drain(): void {
    this.#draining = true;
    this.#ready = false;
  }
}
