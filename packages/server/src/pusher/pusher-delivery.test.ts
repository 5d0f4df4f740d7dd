import { describe, expect, it } from 'vitest';
import { serializeEnvelope } from '../engine/broker.js';
import { HubMessage } from '../hub/hub-message.js';
import { envelopeData } from '../engine/broker.js';
import { pusherDelivery } from './pusher-delivery.js';

const message = (data: unknown): HubMessage =>
  new HubMessage({ channel: 'app1:c', epoch: 'e', offset: 1, time: 0, json: serializeEnvelope('app1:c', 'e', 1, 0, JSON.stringify(data)) });
const frame = (data: unknown) => {
  const delivery = pusherDelivery(message(data), 'c');
  // Skip the 2-byte WebSocket header of these short frames.
  return { frame: JSON.parse(delivery.frame!.subarray(2).toString()) as unknown, socket: delivery.socket };
};

describe('pusherDelivery', () => {
  it('reads the data out of the envelope', () => {
    expect(envelopeData(serializeEnvelope('a:"x', 'e', 3, 9, '{"data":1}'))).toBe('{"data":1}');
  });

  it('maps {event, data} to the event and anything else to `message`', () => {
    expect(frame({ a: 1 })).toEqual({ frame: { event: 'message', channel: 'c', data: '{"a":1}' }, socket: undefined });
    expect(frame({ event: 'e', data: 'hi' })).toEqual({ frame: { event: 'e', channel: 'c', data: 'hi' }, socket: undefined });
  });

  it('names the socket a message excludes, and adds user_id to client events only', () => {
    expect(frame({ socket_id: '1.2', user_id: 'u', event: 'client-x', data: { a: 1 } })).toEqual({
      frame: { event: 'client-x', channel: 'c', data: '{"a":1}', user_id: 'u' },
      socket: '1.2',
    });
    expect(frame({ socket_id: '1.2', user_id: 'u', event: 'server', data: 1 })).toEqual({
      frame: { event: 'server', channel: 'c', data: '1' },
      socket: '1.2',
    });
    expect(frame('"socket_id"')).toEqual({ frame: { event: 'message', channel: 'c', data: '"\\"socket_id\\""' }, socket: undefined });
  });
});
