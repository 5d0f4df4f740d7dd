import type { Demo } from '../../demo.js';
import { flashSaleBackend } from './backend.js';

/** A stock counter fanned out to every viewer while buyers race for the last items. */
export const flashSale: Demo = {
  name: 'flash-sale',
  title: 'Flash sale',
  summary:
    'A limited stock counted down live on every screen. Buying goes through the demo backend with an idempotency key, so a retried click is one purchase and the stock never goes below zero.',
  transport: 'sse',
  why: 'Thousands watch, few act: the counter only flows to the browser, so one EventSource per viewer is enough, and buying is a plain POST that can carry its idempotency key.',
  backend: () => flashSaleBackend(),
};
