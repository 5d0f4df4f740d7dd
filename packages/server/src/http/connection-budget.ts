import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { sendJsonText } from './respond.js';

/**
 * Requests one HTTP connection may have unanswered at once. Node hands every request of a received
 * chunk to the handler at once, however many a client pipelined into it, and queues their answers in
 * memory; past this many the connection is destroyed. Browsers and HTTP libraries do not pipeline.
 */
export const MAX_PIPELINED_REQUESTS = 32;

const WAITING = Symbol('herald.connectionBudget');
const SIZE = Symbol('herald.responseBytes');
interface Budget {
  /** Requests handed to the handler and not yet closed. */
  requests: number;
  /** Bytes of bounded answers not yet taken by the socket. */
  bytes: number;
}
type BudgetedSocket = Socket & { [WAITING]?: Budget };
type SizedResponse = ServerResponse & { [SIZE]?: number };

const budgetOf = (socket: Socket): Budget => ((socket as BudgetedSocket)[WAITING] ??= { requests: 0, bytes: 0 });

/** One listener for every response (no closure per response): its request and bytes are no longer waiting. */
function onResponseClose(this: SizedResponse): void {
  const budget = budgetOf(this.req.socket);
  budget.requests--;
  budget.bytes -= this[SIZE] ?? 0;
}

/**
 * Counts a request against its connection until its response closes; returns false (and destroys the
 * connection) when it would pass {@link MAX_PIPELINED_REQUESTS}, or when the connection is gone.
 */
export function admitRequest(req: IncomingMessage, res: ServerResponse): boolean {
  const socket = req.socket;
  if (socket.destroyed) return false;
  const budget = budgetOf(socket);
  if (budget.requests >= MAX_PIPELINED_REQUESTS) {
    socket.destroy();
    return false;
  }
  budget.requests++;
  res.once('close', onResponseClose);
  return true;
}

/** Whether the request's connection is gone (nothing should be built for it). */
export function connectionGone(res: ServerResponse): boolean {
  return res.destroyed || res.req.socket.destroyed;
}

/**
 * Sends a `200` JSON body like `sendJsonText`, counting it against its connection until the socket
 * has taken all of it (the response's `close`). When the bytes of earlier answers still waiting on
 * the same connection (pipelined requests of a client that does not read) plus this body would pass
 * `limit`, the connection is destroyed instead and `false` returned: such a client holds at most
 * about `limit` plus one answer. An answer on a connection with nothing waiting always goes, so one
 * large answer is never taken for slowness. Needs {@link admitRequest} to have counted the request.
 */
export function sendBounded(res: ServerResponse, body: string | Buffer, headers: Record<string, string>, limit: number): boolean {
  if (connectionGone(res)) return false;
  const socket = res.req.socket;
  const budget = budgetOf(socket);
  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  if (budget.bytes > 0 && budget.bytes + size > limit) {
    socket.destroy();
    return false;
  }
  budget.bytes += size;
  (res as SizedResponse)[SIZE] = size;
  sendJsonText(res, 200, body, headers);
  return true;
}
