import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';

/** A `node:http` or `node:https` server of the app's that a hub is attached to. */
export type AttachableServer = HttpServer | HttpsServer;

/** Takes a request when it is the hub's; false leaves it to the app. */
export type RequestClaim = (req: IncomingMessage, res: ServerResponse) => boolean;
/** Takes an upgrade when it is the hub's; false leaves it to the app. */
export type UpgradeClaim = (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean;

type Listener = (...args: unknown[]) => void;

/**
 * Puts the hub in front of a server's own `request` and `upgrade` listeners: the listeners the
 * server has now are taken off and called only for what the hub does not claim, so the app never
 * answers a request or an upgrade the hub answered (and the other way round). An upgrade nobody
 * takes is destroyed, as Node does on a server with no `upgrade` listener. Listeners the app adds
 * later run for every request, the hub's too: attach after the app registered its own.
 *
 * @returns detach: the hub's listeners come off and the app's go back on
 */
export function attachListeners(server: AttachableServer, onRequest: RequestClaim, onUpgrade: UpgradeClaim): () => void {
  const appRequest = server.listeners('request') as Listener[];
  const appUpgrade = server.listeners('upgrade') as Listener[];
  server.removeAllListeners('request');
  server.removeAllListeners('upgrade');
  const request = (req: IncomingMessage, res: ServerResponse): void => {
    if (onRequest(req, res)) return;
    for (const listener of appRequest) listener.call(server, req, res);
  };
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (onUpgrade(req, socket, head)) return;
    for (const listener of appUpgrade) listener.call(server, req, socket, head);
    // Node destroys an upgrade when nothing listens for it; ours is the only listener left.
    if (appUpgrade.length === 0 && server.listenerCount('upgrade') === 1) socket.destroy();
  };
  server.on('request', request);
  server.on('upgrade', upgrade);
  return () => {
    server.off('request', request);
    server.off('upgrade', upgrade);
    for (const listener of appRequest) server.on('request', listener);
    for (const listener of appUpgrade) server.on('upgrade', listener);
  };
}
