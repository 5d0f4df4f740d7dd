import type { Demo } from '../../demo.js';

/** Chat rooms with history on join, who is online and who is typing; everything goes over the page's connection. */
export const chat: Demo = {
  name: 'chat',
  title: 'Chat',
  summary: 'Rooms with history on join, who is online and who is typing. Open it in two windows and talk to yourself.',
  transport: 'websocket',
  why: 'Chat sends as often as it receives: messages, typing signals and presence ride one socket both ways, with no HTTP request per keystroke.',
};
