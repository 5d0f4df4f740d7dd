/** The transports a demo page can use (the SDK's `transports` option). */
export type DemoTransport = 'websocket' | 'sse' | 'polling';

/** Where a publish landed: the channel's position after it. */
export interface DemoPublishResult {
  readonly channel: string;
  readonly epoch: string;
  readonly offset: number;
  readonly duplicate?: boolean;
}

/**
 * How a demo's backend and simulator publish: to the hub embedded in the same process
 * (`herald start`) or to a remote hub through `@herald/backend` (`herald demo --url`).
 */
export interface DemoPublisher {
  /** Publishes `data` on `channel`; resolves once the hub stored it. */
  publish(channel: string, data: unknown, options?: { readonly idempotencyKey?: string }): Promise<DemoPublishResult>;
}

/** What a backend route is handed: the parsed JSON body (`undefined` for none) and the query. */
export interface DemoRequest {
  readonly body: unknown;
  readonly query: URLSearchParams;
  readonly publisher: DemoPublisher;
}

/** A backend route's answer, sent as JSON. */
export interface DemoAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** One HTTP endpoint of a demo's backend, answered with JSON. */
export interface DemoRoute {
  /** The one method it answers; others get 405. */
  readonly method: 'GET' | 'POST';
  handle(request: DemoRequest): Promise<DemoAnswer>;
}

/** Something that publishes on its own (moving vehicles, incoming notifications) while the demo is served. */
export interface DemoSimulator {
  /** Starts publishing through `publisher`. Called once, when the host starts. */
  start(publisher: DemoPublisher): void;
  /** Stops; resolves once nothing it started is still running (no publish in flight). */
  stop(): Promise<void>;
}

/** A demo's server side, made once per host so its state (users, stock) is the host's own. */
export interface DemoBackend {
  /**
   * Routes by path under the demo's own path: `'api/send'` answers `/demo/<name>/api/send`.
   * Bodies are JSON (at most 64 KiB); answers are JSON.
   */
  readonly routes?: Readonly<Record<string, DemoRoute>>;
  readonly simulator?: DemoSimulator;
}

/**
 * One demo app: served at `/demo/<name>/` from its folder's `page.html` and `browser/main.ts`
 * (bundled at build time to `main.js`), listed on `/demo/`, with an optional backend.
 */
export interface Demo {
  /** URL segment and folder name: lowercase letters, digits and `-`. */
  readonly name: string;
  readonly title: string;
  /** One sentence for the index. */
  readonly summary: string;
  /** The transport that fits it, tried first (the page's switch tries the others). */
  readonly transport: DemoTransport;
  /** Why that transport fits, in one or two sentences (shown on the page and the index). */
  readonly why: string;
  /** Makes the demo's backend; called once per host. */
  readonly backend?: () => DemoBackend;
}
