import { startHookApp, type Collector, type HookApp, type HookAppRequest } from '@herald/testkit';

/** The app's decision for one call: the JSON it answers with (or a promise of it). */
export type ScriptedAnswer = (request: HookAppRequest) => unknown;

/**
 * A real hook app (the testkit's, checking every signature) whose answer, delay and a gate holding
 * every answer are set by the test while it runs.
 */
export class ScriptedHookApp {
  /** Decides each call's answer; replace it at any time. Defaults to `{ allow: true }`. */
  answer: ScriptedAnswer;
  /** Milliseconds each answer waits before it is given (a slow app). @default 0 */
  delay = 0;
  readonly #app: HookApp;
  #gate: Promise<void> | undefined;
  #openGate = (): void => undefined;

  private constructor(app: HookApp, answer: ScriptedAnswer) {
    this.#app = app;
    this.answer = answer;
    app.handle(async (request) => {
      await this.#gate;
      if (this.delay > 0) await new Promise((resolve) => setTimeout(resolve, this.delay));
      return this.answer(request);
    });
  }

  /** Starts an app on 127.0.0.1 at port 0 that checks signatures against `secret` and answers with `answer`. */
  static async start(secret: string, answer: ScriptedAnswer = () => ({ allow: true })): Promise<ScriptedHookApp> {
    return new ScriptedHookApp(await startHookApp(secret), answer);
  }

  /** `http://127.0.0.1:<port>` */
  get url(): string {
    return this.#app.url;
  }

  /** Every request the app received, in order (answered or still held). */
  get requests(): Collector<HookAppRequest> {
    return this.#app.requests;
  }

  /** Most requests the app held at once. */
  get maxInFlight(): number {
    return this.#app.maxInFlight;
  }

  /** The app's calls of hook `hook` (by the body's `hook` field), in order. */
  callsOf(hook: string): HookAppRequest[] {
    return this.#app.requests.items.filter((r) => r.body['hook'] === hook);
  }

  /** Holds the answer to every call arriving from now on until `release()`; holding twice is one hold. */
  hold(): void {
    this.#gate ??= new Promise<void>((resolve) => (this.#openGate = resolve));
  }

  /** Gives every held answer; a no-op when nothing is held. */
  release(): void {
    this.#openGate();
    this.#gate = undefined;
  }

  /** Releases what is held and closes the app and its connections. */
  async close(): Promise<void> {
    this.release();
    await this.#app.close();
  }
}
