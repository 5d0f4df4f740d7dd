import { encodePosition } from '@herald/protocol';
import type { HubMessage } from '../hub/hub-message.js';
import { deltaJson } from '../hub/message-delta.js';
import type { SignedEncodings } from './signed-json.js';
import { wsTextFrame } from './ws-frame.js';

/**
 * The wire encodings of a message sent as a delta (`{"type":"delta",…}`, see `messageDelta`), each
 * built once per message and cached on it like the full encodings; the signed ones (clients that may
 * not read the channel's history) add the signed cursor of the message's position as `cursor`.
 * Each is `undefined` when the message has no delta: the caller then sends it in full.
 */
export const deltaFrames = {
  /** The delta push's JSON text. */
  json(message: HubMessage, signed: SignedEncodings | undefined): string | undefined {
    if (signed === undefined) return deltaJson(message);
    return message.encoded('delta-json-signed', (m) => {
      const json = deltaJson(m);
      return json === undefined ? undefined : `${json.slice(0, -1)},"cursor":"${encodePosition(m.channel, signed.position(m))}"}`;
    });
  },

  /** One WebSocket text frame. */
  wsFrame(message: HubMessage, signed: SignedEncodings | undefined): Buffer | undefined {
    return message.encoded(signed === undefined ? 'ws-delta' : 'ws-delta-signed', (m) => {
      const json = deltaFrames.json(m, signed);
      return json === undefined ? undefined : wsTextFrame(json);
    });
  },

  /** A one-channel SSE event: the message's cursor as `id:` (as its full event has), the delta push as `data:`. */
  sseSingle(message: HubMessage, signed: SignedEncodings | undefined): Buffer | undefined {
    return message.encoded(signed === undefined ? 'sse1-delta' : 'sse1-delta-signed', (m) => {
      const json = deltaFrames.json(m, signed);
      if (json === undefined) return undefined;
      const cursor = encodePosition(m.channel, signed === undefined ? m : signed.position(m));
      return Buffer.from(`id: ${cursor}\ndata: ${json}\n\n`);
    });
  },

  /** The `data:` part of an SSE event of a stream of several channels (its `id:` is the stream's). */
  sseData(message: HubMessage, signed: SignedEncodings | undefined): Buffer | undefined {
    return message.encoded(signed === undefined ? 'sse-delta' : 'sse-delta-signed', (m) => {
      const json = deltaFrames.json(m, signed);
      return json === undefined ? undefined : Buffer.from(`data: ${json}\n\n`);
    });
  },

  /** The answer to a long poll woken by exactly this message, from a client that holds the one before. */
  pollNext(message: HubMessage, signed: SignedEncodings | undefined): Buffer | undefined {
    return message.encoded(signed === undefined ? 'poll-delta' : 'poll-delta-signed', (m) => {
      const json = deltaFrames.json(m, signed);
      if (json === undefined) return undefined;
      const cursor = encodePosition(m.channel, signed === undefined ? m : signed.position(m));
      return Buffer.from(`{"messages":[${json}],"cursor":"${cursor}"}`);
    });
  },
};
