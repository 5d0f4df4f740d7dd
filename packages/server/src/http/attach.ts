import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';

/** A `node:http` or `node:https` server of the app's that a hub is attached to. */
export type AttachableServer = HttpServer | HttpsServer;

/** Takes a request when it is the hub's; false leaves it to the app. */
export type RequestClaim = (req: IncomingMessage, res: ServerResponse) => boolean;
/** Takes an upgrade when it is the hub's; false leaves it to the app. */
export type UpgradeClaim = (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean;

type Emit = (this: AttachableServer, event: string | symbol, ...args: unknown[]) => boolean;

/** The `upgrade` listeners attach adds; an upgrade that only they listen to is nobody's. */
const placeholders = new WeakSet<(...args: unknown[]) => void>();

/** Node's own answer to an upgrade on a server with no `upgrade` listener of the app's: none. */
function dropUnclaimed(this: AttachableServer, _req: IncomingMessage, socket: Duplex): void {
  if (this.listeners('upgrade').every((listener) => placeholders.has(listener as (...args: unknown[]) => void))) socket.destroy();
}
placeholders.add(dropUnclaimed as (...args: unknown[]) => void);

/**
 * Puts the hub in front of everything that listens for `request` and `upgrade` on the server, now
 * or later: the server's `emit` is wrapped so that the hub decides first, synchronously, and the
 * listeners (the app's, a WebSocket server's, another hub's) run only for what the hub did not
 * claim. So the app never answers what the hub answered, whatever order listeners were added in (a
 * Fastify plugin adds its `upgrade` listener at `listen()`, `new WebSocketServer({ server })` when
 * it is made). An upgrade that only hubs listen to is destroyed, as Node does on a server with no
 * `upgrade` listener; `attach` adds one `upgrade` listener so that Node hands upgrades to `emit`.
 *
 * Detaching is correct in any order: when this wrapper is still the server's `emit`, the one before
 * it comes back; when something wrapped it since (another hub attached later), it stays in place
 * as a pure pass-through, so whatever was installed after it keeps working.
 *
 * @returns detach: the hub stops claiming (at once, idempotent)
 */
export function attachListeners(server: AttachableServer, onRequest: RequestClaim, onUpgrade: UpgradeClaim): () => void {
  const own = Object.hasOwn(server, 'emit');
  // Kept as is (not bound): it is put back as is, and called with the server as `this`.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const previous = server.emit as Emit;
  let attached = true;
  const emit: Emit = function (this: AttachableServer, event, ...args) {
    if (attached) {
      if (event === 'request' && onRequest(args[0] as IncomingMessage, args[1] as ServerResponse)) return true;
      if (event === 'upgrade' && onUpgrade(args[0] as IncomingMessage, args[1] as Duplex, args[2] as Buffer)) return true;
    }
    return previous.call(this, event, ...args);
  };
  server.emit = emit as AttachableServer['emit'];
  server.on('upgrade', dropUnclaimed);
  return () => {
    if (!attached) return;
    attached = false;
    server.off('upgrade', dropUnclaimed);
    if ((server.emit as Emit) !== emit) return;
    if (own) server.emit = previous as AttachableServer['emit'];
    else delete (server as { emit?: unknown }).emit;
  };
}
