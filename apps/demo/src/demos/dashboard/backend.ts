import type { DemoAnswer, DemoBackend, DemoPublisher } from '../../demo.js';
import { pointAlong, routeLength, ROUTES, type Point } from './routes.js';
import { PublishTracker } from '../../publish-tracker.js';

/** The channel the simulator publishes every van's position on, once per tick. */
export const VEHICLES_CHANNEL = 'dashboard:vehicles';
/** The channel of the simulated orders, one message per order. */
export const ORDERS_CHANNEL = 'dashboard:orders';

/** How often the vans' positions are published, in ms. */
export const DEFAULT_VEHICLE_INTERVAL = 1000;
/** How often an order comes in, in ms. */
export const DEFAULT_ORDER_INTERVAL = 1500;
/** Orders kept by the backend for `api/state` (the page's chart). */
const ORDERS_KEPT = 120;
/** Distance a van drives per tick, in map units. */
const SPEED = 24;

/** One van as published on {@link VEHICLES_CHANNEL}. */
export interface Vehicle extends Point {
  readonly id: string;
}

/** One tick on {@link VEHICLES_CHANNEL}. */
export interface VehiclesUpdate {
  /** Counts up by one per tick from 1. */
  readonly tick: number;
  readonly vehicles: readonly Vehicle[];
  /** The backend's clock (ms since the epoch) when it published: the page measures latency from it. */
  readonly sentAt: number;
  /** The tick's interval, in ms. */
  readonly interval: number;
}

/** One order on {@link ORDERS_CHANNEL}. */
export interface Order {
  /** Counts up by one from 1. */
  readonly id: number;
  /** In cents. */
  readonly amount: number;
  /** The running total after this order, in cents: what the simulator has published in all. */
  readonly total: number;
  readonly sentAt: number;
  readonly interval: number;
}

/** Options of {@link dashboardBackend}. */
export interface DashboardOptions {
  /** @default {@link DEFAULT_VEHICLE_INTERVAL} */
  readonly vehicleInterval?: number;
  /** @default {@link DEFAULT_ORDER_INTERVAL} */
  readonly orderInterval?: number;
  /** The clock stamped into `sentAt`, in ms since the epoch. @default Date.now */
  readonly now?: () => number;
  /** An order's amount in cents. @default a random 5.00–120.00 */
  readonly amount?: () => number;
}

/**
 * The dashboard backend: a simulator that publishes the vans' positions every `vehicleInterval` ms
 * and one order every `orderInterval` ms with the running total, and `GET api/state`, the latest of
 * both (and the last orders) for a page that has just subscribed.
 */
export function dashboardBackend(options: DashboardOptions = {}): DemoBackend {
  const vehicleInterval = options.vehicleInterval ?? DEFAULT_VEHICLE_INTERVAL;
  const orderInterval = options.orderInterval ?? DEFAULT_ORDER_INTERVAL;
  const now = options.now ?? Date.now;
  const amount = options.amount ?? ((): number => 500 + Math.round(Math.random() * 11_500));
  const publishes = new PublishTracker();
  const timers: ReturnType<typeof setInterval>[] = [];
  const starts = ROUTES.map((route, i) => (routeLength(route) * i) / ROUTES.length);
  let tick = 0;
  let total = 0;
  let last: VehiclesUpdate | undefined;
  const orders: Order[] = [];

  const vehiclesAt = (t: number): Vehicle[] =>
    ROUTES.map((route, i) => ({ id: `van-${i + 1}`, ...pointAlong(route, starts[i]! + t * SPEED) }));

  return {
    routes: {
      'api/state': {
        method: 'GET',
        handle(): Promise<DemoAnswer> {
          const vehicles = last ?? { tick: 0, vehicles: vehiclesAt(0), sentAt: now(), interval: vehicleInterval };
          return Promise.resolve({
            status: 200,
            body: { interval: { vehicles: vehicleInterval, orders: orderInterval }, vehicles, total, orders },
          });
        },
      },
    },
    simulator: {
      start(publisher: DemoPublisher) {
        if (timers.length > 0) return;
        timers.push(
          setInterval(() => {
            tick++;
            last = { tick, vehicles: vehiclesAt(tick), sentAt: now(), interval: vehicleInterval };
            publishes.track(publisher.publish(VEHICLES_CHANNEL, last));
          }, vehicleInterval),
          setInterval(() => {
            const cents = amount();
            total += cents;
            const order: Order = {
              id: orders.length === 0 ? 1 : orders[orders.length - 1]!.id + 1,
              amount: cents,
              total,
              sentAt: now(),
              interval: orderInterval,
            };
            orders.push(order);
            if (orders.length > ORDERS_KEPT) orders.shift();
            publishes.track(publisher.publish(ORDERS_CHANNEL, order));
          }, orderInterval),
        );
        for (const timer of timers) timer.unref();
      },
      async stop() {
        for (const timer of timers.splice(0)) clearInterval(timer);
        await publishes.settled();
      },
    },
  };
}
