import type { Demo } from '../../demo.js';

/** Shared dots in an arena: every page sends its position 20–60 times a second and shows the round trip. */
export const game: Demo = {
  name: 'game',
  title: 'Arena',
  summary:
    'Move your dot (mouse, arrow keys or autopilot) and watch the others move theirs: 20–60 position updates a second each way, with the measured round trip through the hub.',
  transport: 'websocket',
  why: 'Every player sends as much as it receives, dozens of times a second: one socket both ways, a few bytes a frame, where SSE or polling would need an HTTP request per move.',
};
