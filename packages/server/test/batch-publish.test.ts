import { createHeraldServer } from '@herald/server';
import { runBatchPublishContract, startTestHub } from '@herald/testkit';
import { expect, it } from 'vitest';

runBatchPublishContract('memory', (options) => startTestHub(options));

it.each([0, -1, 1.5, Number.NaN])('maxBatchMessages %d is a RangeError', (value) => {
  expect(() => createHeraldServer({ maxBatchMessages: value })).toThrow(new RangeError('maxBatchMessages must be an integer > 0'));
});
