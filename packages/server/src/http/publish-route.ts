import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkChannelName, ErrorCode, exceedsJsonDepth } from '@herald/protocol';
import { toWireError } from '../errors.js';
import type { Hub } from '../hub/hub.js';
import { readBody } from './read-body.js';
import { sendError, sendJson } from './respond.js';

/**
 * `POST /api/publish` with `{"channel", "data"}`: answers `{channel, epoch, offset}` once the engine
 * stored the message.
 */
export async function handlePublish(
  hub: Hub,
  req: IncomingMessage,
  res: ServerResponse,
  bodyLimit: number,
  headers: Record<string, string>,
  authorize: (channel: string) => void,
): Promise<void> {
  const body = await readBody(req, bodyLimit);
  if (!body.ok) {
    // Stop reading an oversized body and close the connection after answering.
    if (body.error.code === ErrorCode.TooLarge) res.setHeader('Connection', 'close');
    return sendError(res, body.error, headers);
  }
  const text = body.value;
  if (exceedsJsonDepth(text)) return sendError(res, { code: ErrorCode.InvalidJson, message: 'JSON nests too deeply' }, headers);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return sendError(res, { code: ErrorCode.InvalidJson, message: 'body is not valid JSON' }, headers);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return sendError(res, { code: ErrorCode.InvalidFrame, message: 'body must be a JSON object {"channel", "data"}' }, headers);
  }
  const fields = value as Record<string, unknown>;
  const channel = checkChannelName(fields['channel']);
  if (!channel.ok) return sendError(res, channel.error, headers);
  if (!Object.prototype.hasOwnProperty.call(fields, 'data')) {
    return sendError(res, { code: ErrorCode.InvalidField, message: 'body needs a data field' }, headers);
  }
  try {
    authorize(channel.value);
    const result = await hub.publish(channel.value, fields['data']);
    sendJson(res, 200, result, headers);
  } catch (error) {
    sendError(res, toWireError(error), headers);
  }
}
