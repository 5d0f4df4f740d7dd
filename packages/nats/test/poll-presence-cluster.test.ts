import { checkPollPresenceAcrossNodes } from '@herald/testkit';
import { describe, it } from 'vitest';
import { NATS_URL } from './nats-helpers.js';

describe('presence on polling across nodes, NATS engine', () => {
  it('a session polling two nodes in turn is one member: one join, one leave', async () => {
    await checkPollPresenceAcrossNodes({ engine: NATS_URL });
  }, 60_000);
});
