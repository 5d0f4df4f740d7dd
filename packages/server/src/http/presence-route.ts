import { checkChannelName } from '@herald/protocol';
import type { Security } from '../auth/security.js';
import { toWireError } from '../errors.js';
import type { Hub } from '../hub/hub.js';
import { identifyRequest } from './identify-request.js';
import { sendError, sendJson } from './respond.js';
import type { Route } from './route.js';

/** `GET /api/presence?channel=…`: `{channel, members}`, with the `presence` permission. */
export function presenceRoute(hub: Hub, security: Security): Route {
  return {
    methods: 'GET',
    async handle(req, res, { params, cors }) {
      const who = await identifyRequest(security, req, res, params, cors);
      if (who === undefined) return;
      const channel = checkChannelName(params.get('channel') ?? '');
      if (!channel.ok) return sendError(res, channel.error, cors);
      try {
        security.permissions.check(who.identity, 'presence', channel.value);
        return sendJson(res, 200, { channel: channel.value, members: await hub.presence(channel.value) }, cors);
      } catch (error) {
        return sendError(res, toWireError(error), cors);
      }
    },
  };
}
