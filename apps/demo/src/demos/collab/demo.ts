import type { Demo } from '../../demo.js';

/** A shared to-do list: every edit is a message, every page applies the channel's log in offset order. */
export const collab: Demo = {
  name: 'collab',
  title: 'Shared list',
  summary:
    'A to-do list several browsers edit at once: add, check, reorder, delete. Every edit is a message; every page applies the log in offset order, so all agree. Go offline, come back: what you missed is replayed once.',
  transport: 'websocket',
  why: 'Editors send as much as they receive: each small edit is a command on the open socket, and a reconnect resumes the subscription from its cursor on the same socket.',
};
