import type { Demo } from './demo.js';
import { chat } from './demos/chat/demo.js';
import { collab } from './demos/collab/demo.js';
import { dashboard } from './demos/dashboard/demo.js';
import { feed } from './demos/feed/demo.js';
import { flashSale } from './demos/flash-sale/demo.js';
import { game } from './demos/game/demo.js';
import { notifications } from './demos/notifications/demo.js';

/** Every demo, in the order the index lists them. Adding a demo: its folder in `demos/`, and one line here. */
export const DEMOS: readonly Demo[] = [chat, notifications, dashboard, flashSale, feed, game, collab];
