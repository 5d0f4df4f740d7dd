import { randomInt } from 'node:crypto';

const node = randomInt(100_000_000, 1_000_000_000);
let counter = 0;

/**
 * A Pusher `socket_id` (`<digits>.<digits>`): a random 9-digit part per process and a counter, so
 * unique across nodes. It is also the connection's session id in Herald (presence `client`, admin list).
 */
export function nextSocketId(): string {
  counter++;
  return `${node}.${counter}`;
}
