import { ErrorCode } from '@herald/protocol';
import { sendError } from './respond.js';
import type { Route } from './route.js';

/** `/ws` reached as a plain request: 400 with `Upgrade: websocket` (the upgrade itself is `upgrade.ts`'s). */
export const wsRoute: Route = {
  handle(_req, res, { cors }) {
    res.setHeader('Upgrade', 'websocket');
    return sendError(res, { code: ErrorCode.InvalidField, message: '/ws expects a WebSocket upgrade' }, cors);
  },
};
