import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '@herald/protocol';
import type { Demo, DemoBackend, DemoPublisher } from './demo.js';
import { demoHeader } from './demo-header.js';
import { GUIDE_NAME, renderGuidePage } from './guide-page.js';
import { escapeHtml } from './html.js';
import { indexPage } from './index-page.js';
import { BodyError, readJsonBody } from './json-body.js';
import { PAGES_DIR, readPageAsset, type PageAsset } from './page-assets.js';
import { DEMOS } from './registry.js';

/** The path the demos are served under. */
export const DEMO_PATH = '/demo';

/** Options of {@link createDemoHost}. */
export interface DemoHostOptions {
  /** Where the backends and simulators publish. */
  readonly publisher: DemoPublisher;
  /**
   * The hub's base URL as the pages reach it (`http://hub.example:3000`, with a mount path if any);
   * written into each page. `undefined`: the page's own origin (the hub serves the demos itself).
   */
  readonly hubUrl?: string | undefined;
  /** @default {@link DEMOS}, every registered demo */
  readonly demos?: readonly Demo[] | undefined;
  /** Where the built pages are. @default `dist/pages/` of this package */
  readonly pagesDir?: URL | undefined;
  /** Told about a backend route that failed (a publish the hub refused); the answer is a 502 either way. */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** The demos' pages, backends and simulators, ready to put on any `node:http` server. */
export interface DemoHost {
  /**
   * Answers a request under `/demo` (`url` is the request's URL) and returns true, or returns false
   * for any other path. Fits `createHerald`'s `routes` option.
   */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean;
  /** Starts the simulators. */
  start(): void;
  /** Stops the simulators; resolves once none is publishing. */
  stop(): Promise<void>;
}

const NAME = /^[a-z0-9][a-z0-9-]*$/;

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...headers });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));
}

function sendError(res: ServerResponse, status: number, code: number, message: string, headers?: Record<string, string>): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
  res.end(JSON.stringify({ error: { code, message } }));
}

/** The page of `demo` with its header and the hub's URL written in. */
function renderPage(demo: Demo, page: PageAsset, hubUrl: string | undefined): PageAsset {
  const meta = `<meta name="herald-url" content="${escapeHtml(hubUrl ?? '')}" />`;
  const html = typeof page.body === 'string' ? page.body : page.body.toString('utf8');
  return {
    type: page.type,
    body: html.replace('<!-- demo:meta -->', meta).replace('<!-- demo:header -->', demoHeader(demo)),
  };
}

/** Paths under `/demo/` that are the host's own, so no demo may take them as its name. */
const RESERVED = new Set(['assets', GUIDE_NAME]);

/**
 * Serves the demos: `/demo/` (the index), `/demo/<name>/` (a page), `/demo/<name>/main.js` (its
 * bundle), `/demo/choosing-a-transport/` (the transport guide, built from
 * `docs/choosing-a-transport.md`), `/demo/assets/*` (shared styles and the guide's pictures) and each
 * backend's routes under `/demo/<name>/`. Throws a `TypeError` for a demo name that is not
 * lowercase letters, digits and `-`, is `assets` or `choosing-a-transport`, or is used twice.
 */
export function createDemoHost(options: DemoHostOptions): DemoHost {
  const demos = options.demos ?? DEMOS;
  const byName = new Map<string, { demo: Demo; backend: DemoBackend | undefined }>();
  for (const demo of demos) {
    if (!NAME.test(demo.name)) throw new TypeError(`demo name must be lowercase letters, digits and -, got "${demo.name}"`);
    if (RESERVED.has(demo.name)) throw new TypeError(`demo name "${demo.name}" is a path of the demo host's own`);
    if (byName.has(demo.name)) throw new TypeError(`demo "${demo.name}" is registered twice`);
    byName.set(demo.name, { demo, backend: demo.backend?.() });
  }
  const dir = options.pagesDir ?? PAGES_DIR;
  const index = indexPage(demos);
  let started = false;

  const route = (req: IncomingMessage, res: ServerResponse, url: URL, backend: DemoBackend, path: string): boolean => {
    const handler = backend.routes?.[path];
    if (handler === undefined) return false;
    if (req.method !== handler.method) {
      sendError(res, 405, ErrorCode.MethodNotAllowed, `${path} answers ${handler.method} only`, { Allow: handler.method });
      return true;
    }
    void (async () => {
      let body: unknown;
      try {
        body = await readJsonBody(req);
      } catch (error) {
        if (!(error instanceof BodyError)) throw error;
        const tooLarge = error.reason === 'too-large';
        sendError(res, tooLarge ? 413 : 400, tooLarge ? ErrorCode.TooLarge : ErrorCode.InvalidJson, error.message);
        return;
      }
      try {
        const answer = await handler.handle({ body, query: url.searchParams, publisher: options.publisher });
        sendJson(res, answer.status, answer.body);
      } catch (error) {
        options.onError?.(error);
        const code = (error as { code?: unknown }).code;
        sendError(
          res,
          502,
          typeof code === 'number' ? code : ErrorCode.Internal,
          `the hub did not take the publish: ${(error as Error).message}`,
        );
      }
    })().catch((error: unknown) => {
      options.onError?.(error);
      if (!res.headersSent) sendError(res, 500, ErrorCode.Internal, 'internal error');
    });
    return true;
  };

  const serveAsset = (res: ServerResponse, asset: PageAsset | undefined): void => {
    if (asset === undefined) sendError(res, 404, ErrorCode.NotFound, 'not built: run npm run build');
    else send(res, 200, asset.type, asset.body);
  };

  return {
    handle(req, res, url) {
      const path = url.pathname;
      if (path !== DEMO_PATH && !path.startsWith(`${DEMO_PATH}/`)) return false;
      const rest = path.slice(DEMO_PATH.length + 1);
      const slash = rest.indexOf('/');
      const first = slash === -1 ? rest : rest.slice(0, slash);
      const inner = slash === -1 ? undefined : rest.slice(slash + 1);
      const entry = byName.get(first);
      if (entry !== undefined && inner !== undefined && entry.backend !== undefined && route(req, res, url, entry.backend, inner))
        return true;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendError(res, 405, ErrorCode.MethodNotAllowed, 'pages answer GET and HEAD', { Allow: 'GET, HEAD' });
        return true;
      }
      if (path === DEMO_PATH || ((entry !== undefined || first === GUIDE_NAME) && inner === undefined)) {
        res.writeHead(308, { Location: `${path}/${url.search}` });
        res.end();
      } else if (rest === '') {
        send(res, 200, 'text/html; charset=utf-8', index);
      } else if (first === 'assets' && inner !== undefined && /^[a-z0-9-]+\.(css|js|png)$/.test(inner)) {
        serveAsset(res, readPageAsset(`assets/${inner}`, dir));
      } else if (first === GUIDE_NAME && inner === '') {
        const page = readPageAsset(`${GUIDE_NAME}/index.html`, dir);
        serveAsset(res, page && renderGuidePage(page));
      } else if (entry !== undefined && inner === '') {
        const page = readPageAsset(`${entry.demo.name}/index.html`, dir);
        serveAsset(res, page && renderPage(entry.demo, page, options.hubUrl));
      } else if (entry !== undefined && inner === 'main.js') {
        serveAsset(res, readPageAsset(`${entry.demo.name}/main.js`, dir));
      } else {
        sendError(res, 404, ErrorCode.NotFound, `no demo page at ${path}`);
      }
      return true;
    },
    start() {
      if (started) return;
      started = true;
      for (const { backend } of byName.values()) backend?.simulator?.start(options.publisher);
    },
    async stop() {
      if (!started) return;
      started = false;
      await Promise.all([...byName.values()].flatMap(({ backend }) => (backend?.simulator ? [backend.simulator.stop()] : [])));
    },
  };
}
