import type { Demo } from '../../demo.js';
import { feedBackend } from './backend.js';

/** A live feed: new posts arrive on top, older ones are paged from the channel's history. */
export const feed: Demo = {
  name: 'feed',
  title: 'Live feed',
  summary:
    'New posts arrive on top as they are published; “Load older” pages back through the history, ten at a time, to the start of the feed.',
  transport: 'sse',
  why: 'Readers only read: an EventSource streams new posts over plain HTTP, and posting is an ordinary request to the backend, which decides what gets published.',
  backend: () => feedBackend(),
};
