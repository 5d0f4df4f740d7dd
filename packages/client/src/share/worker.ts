import type { ClientOptions, HeraldClient } from '../client.js';
import { Leader } from './leader.js';
import type { Down, Up } from './messages.js';
import { randomId } from './shared-transport.js';

/** The parts of a SharedWorker's global scope this uses (the DOM lib has no SharedWorkerGlobalScope). */
interface SharedScope {
  readonly name: string;
  onconnect: ((event: MessageEvent) => void) | null;
}

/**
 * Runs a share's connection in a SharedWorker: call it from the module the page names with
 * `createClient({ share: { worker: '/herald-worker.js' } })`, a file of the page's own origin:
 *
 * ```js
 * const sdk = 'https://hub.example.com/sdk'; // the hub's SDK files
 * const { createClient } = await import(sdk + '/herald-client.js');
 * const { shareWorker } = await import(sdk + '/herald-share.js');
 * shareWorker(createClient);
 * ```
 *
 * The connection takes the first tab's options (functions cannot reach a worker: it asks the tabs
 * for tokens when they have a `getToken`) and lives as long as any tab is open. `createClient` is
 * passed in so that the worker and its tabs use the same client code.
 */
export function shareWorker(createClient: (options: ClientOptions) => HeraldClient): void {
  const scope = globalThis as unknown as SharedScope;
  const ports = new Map<string | undefined, MessagePort>();
  let leader: Leader | undefined;
  const post = (message: Down): void => {
    if ('to' in message) {
      for (const m of message.to) ports.get(m)?.postMessage(message);
    } else if (message.t === 'res') ports.get(message.m)?.postMessage(message);
    else for (const port of new Set(ports.values())) port.postMessage(message);
  };
  scope.onconnect = (event: MessageEvent) => {
    const port = event.ports[0]!;
    port.onmessage = (message: MessageEvent<Up>) => {
      const up = message.data;
      if (typeof up !== 'object' || up === null) return;
      if (up.t === 'bye') ports.delete(up.m);
      else ports.set(up.m, port);
      if (up.t === 'opts' && leader?.stopped === true) {
        // Stopped for good (its error went to every tab): a tab that connects again starts anew.
        leader.close();
        leader = undefined;
      }
      if (up.t === 'opts' && leader === undefined) {
        const { getToken, ...options } = up.o;
        leader = new Leader(
          randomId(),
          scope.name,
          (askToken) => createClient({ ...options, ...(getToken && { getToken: askToken }), share: false }),
          post,
          (m) => ports.delete(m),
        );
      }
      leader?.handle(up);
    };
    port.start();
  };
}
