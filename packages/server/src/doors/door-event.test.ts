import { describe, expect, it } from 'vitest';
import { eventData, readEvent } from './door-event.js';

describe('eventData and readEvent', () => {
  it('parses data where it parses', () => {
    expect(eventData('new', '{"a":1}')).toEqual({ event: 'new', data: { a: 1 } });
    expect(eventData('new', '{ "a": 1 }')).toEqual({ event: 'new', data: { a: 1 } });
    expect(eventData('new', 'hello')).toEqual({ event: 'new', data: 'hello' });
  });

  it('parses only canonical JSON when exact', () => {
    expect(eventData('new', '{"a":1}', true)).toEqual({ event: 'new', data: { a: 1 } });
    expect(eventData('new', '{ "a": 1 }', true)).toEqual({ event: 'new', data: '{ "a": 1 }' });
  });

  it('reads the event of a message', () => {
    expect(readEvent('{"event":"new","data":{"a":1}}')).toEqual({ event: 'new', text: '{"a":1}' });
    expect(readEvent('{"event":"new","data":"hi","id":"x"}')).toEqual({ event: 'new', text: 'hi' });
    expect(readEvent('{"a":1}')).toEqual({ event: 'message', text: '{"a":1}' });
    expect(readEvent('{"event":1,"data":2}')).toEqual({ event: 'message', text: '{"event":1,"data":2}' });
    expect(readEvent('"text"')).toEqual({ event: 'message', text: '"text"' });
  });
});
