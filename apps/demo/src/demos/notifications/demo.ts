import type { Demo } from '../../demo.js';
import { notificationsBackend } from './backend.js';

/** A per-user notification stream with an unread badge that resumes from a saved cursor after a reload. */
export const notifications: Demo = {
  name: 'notifications',
  title: 'Notifications',
  summary:
    'Your own notification stream with an unread badge. Reload or close the page, send yourself some more, come back: what arrived meanwhile shows up once.',
  transport: 'sse',
  why: 'Notifications flow one way, from server to browser: an EventSource is plain HTTP that proxies pass, and it resumes by itself with the last cursor it saw.',
  backend: () => notificationsBackend(),
};
