import type { Demo } from '../../demo.js';
import { dashboardBackend } from './backend.js';

/** Delivery vans moving on a map and a revenue total with its chart, fed by a simulator. */
export const dashboard: Demo = {
  name: 'dashboard',
  title: 'Live dashboard',
  summary:
    'Delivery vans moving on a city map and revenue from incoming orders, published by a simulator every second. Compare what SSE and polling cost in latency, side by side.',
  transport: 'sse',
  why: 'A dashboard only listens: one EventSource per page streams every update the moment it is stored, over plain HTTP, with no request per update as polling needs.',
  backend: () => dashboardBackend(),
};
