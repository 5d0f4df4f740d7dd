import { describe, expect, it } from 'vitest';
import { HubMessage } from './hub-message.js';

describe('HubMessage.encoded', () => {
  it('builds each encoding once and returns the same value to every caller', () => {
    const message = new HubMessage({ channel: 'c', epoch: 'e', offset: 1, time: 0, json: '{}' });
    let builds = 0;
    const encode = (m: HubMessage): Buffer => {
      builds++;
      return Buffer.from(m.json);
    };
    const first = message.encoded('ws', encode);
    for (let i = 0; i < 1000; i++) expect(message.encoded('ws', encode)).toBe(first);
    expect(builds).toBe(1);
    message.encoded('sse', encode);
    expect(builds).toBe(2);
  });
});
