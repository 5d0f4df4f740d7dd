import { ErrorCode } from '@herald/protocol';
import type { DemoAnswer, DemoBackend, DemoPublisher, DemoRequest } from '../../demo.js';

/** The channel every viewer's counter follows: one {@link SaleState} per change, in order. */
export const SALE_CHANNEL = 'flash-sale:stock';
/** The stock a sale opens with unless `api/reset` says otherwise. */
export const DEFAULT_STOCK = 25;
/** The largest stock `api/reset` accepts. */
export const MAX_STOCK = 10_000;
/** Idempotency keys remembered per sale; past it the oldest is forgotten. */
export const MAX_KEYS = 100_000;

/** An idempotency key: what a page makes up per click (a UUID fits). */
const KEY = /^[A-Za-z0-9_-]{8,128}$/;

/** The sale as published on {@link SALE_CHANNEL} and answered by `api/state`. */
export interface SaleState {
  /** Counts up by one per reset, from 1. */
  readonly sale: number;
  readonly initial: number;
  readonly stock: number;
  readonly sold: number;
  /** Counts up by one per change, across sales: the newer state has the larger version. */
  readonly version: number;
}

/** What `api/buy` answers: `bought` (200) with the order's number in this sale, or `sold-out` (409). */
export type BuyResult =
  | { readonly result: 'bought'; readonly order: number; readonly state: SaleState }
  | { readonly result: 'sold-out'; readonly state: SaleState };

function invalid(message: string): DemoAnswer {
  return { status: 400, body: { error: { code: ErrorCode.InvalidField, message } } };
}

/**
 * The flash-sale backend. `POST api/buy {key}` takes one item if any is left and publishes the new
 * stock; the same `key` again (a retry) answers the first answer with `replayed: true` and takes
 * nothing. `POST api/reset {stock?}` opens a new sale; `GET api/state` is the current one.
 *
 * The decrement and the key check run in one synchronous step of this process, so concurrent buys
 * can never take more than the stock. That holds for one process only: backends on several nodes
 * would keep the stock and the keys in the engine (for example Redis `SET key NX` and `DECR` in one
 * script).
 */
export function flashSaleBackend(stock = DEFAULT_STOCK): DemoBackend {
  let state: SaleState = { sale: 1, initial: stock, stock, sold: 0, version: 1 };
  let keys = new Map<string, Promise<BuyResult>>();
  // Publishes run one after the other so the channel's log holds the states in version order.
  let publishing: Promise<unknown> = Promise.resolve();

  const publish = (publisher: DemoPublisher, snapshot: SaleState): Promise<boolean> => {
    const done = publishing.then(() => publisher.publish(SALE_CHANNEL, snapshot));
    publishing = done.catch(() => {});
    // A lost publish is healed by the next one: each message is the whole state.
    return done.then(
      () => true,
      () => false,
    );
  };

  const buy = async (publisher: DemoPublisher): Promise<BuyResult> => {
    if (state.stock === 0) return { result: 'sold-out', state };
    state = { ...state, stock: state.stock - 1, sold: state.sold + 1, version: state.version + 1 };
    const mine = state;
    await publish(publisher, mine);
    return { result: 'bought', order: mine.sold, state: mine };
  };

  const answer = (result: BuyResult, replayed: boolean): DemoAnswer => ({
    status: result.result === 'bought' ? 200 : 409,
    body: { ...result, replayed },
  });

  return {
    routes: {
      'api/buy': {
        method: 'POST',
        async handle({ body, publisher }: DemoRequest): Promise<DemoAnswer> {
          const key = (body as { key?: unknown } | undefined)?.key;
          if (typeof key !== 'string' || !KEY.test(key)) return invalid('key must be 8-128 letters, digits, _ or -');
          const seen = keys.get(key);
          if (seen !== undefined) return answer(await seen, true);
          const result = buy(publisher);
          keys.set(key, result);
          if (keys.size > MAX_KEYS) keys.delete(keys.keys().next().value!);
          return answer(await result, false);
        },
      },
      'api/reset': {
        method: 'POST',
        async handle({ body, publisher }: DemoRequest): Promise<DemoAnswer> {
          const wanted = (body as { stock?: unknown } | undefined)?.stock ?? DEFAULT_STOCK;
          if (typeof wanted !== 'number' || !Number.isInteger(wanted) || wanted < 1 || wanted > MAX_STOCK)
            return invalid(`stock must be an integer from 1 to ${MAX_STOCK}`);
          state = { sale: state.sale + 1, initial: wanted, stock: wanted, sold: 0, version: state.version + 1 };
          keys = new Map();
          const mine = state;
          await publish(publisher, mine);
          return { status: 200, body: { state: mine } };
        },
      },
      'api/state': {
        method: 'GET',
        handle(): Promise<DemoAnswer> {
          return Promise.resolve({ status: 200, body: { state } });
        },
      },
    },
  };
}
