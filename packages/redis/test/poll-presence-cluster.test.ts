import { checkPollPresenceAcrossNodes } from '@herald/testkit';
import { describe, it } from 'vitest';
import { REDIS_URL } from './redis-helpers.js';

describe('presence on polling across nodes, Redis engine', () => {
  it('a session polling two nodes in turn is one member: one join, one leave', async () => {
    await checkPollPresenceAcrossNodes({ engine: REDIS_URL });
  }, 60_000);
});
