import { connectDemo, element } from '../../../browser/demo-client.js';
import { subscribed } from '../../../browser/subscribed.js';
import type { BuyResult, SaleState } from '../backend.js';

// The page subscribes first and reads the backend's state once confirmed: a change published in
// between is in one or the other, and the larger version wins.

/** Tries of one buy (the same key each time) before the page gives up. */
const TRIES = 3;

const stockLabel = element('stock', HTMLElement);
const bar = element('bar', HTMLElement);
const buyButton = element('buy', HTMLButtonElement);
const result = element('result', HTMLElement);
const orders = element('orders', HTMLOListElement);
let current: SaleState | undefined;

function show(state: SaleState): void {
  if (current !== undefined && state.version <= current.version) return;
  current = state;
  stockLabel.textContent = String(state.stock);
  stockLabel.dataset['stock'] = String(state.stock);
  stockLabel.dataset['version'] = String(state.version);
  element('initial', HTMLElement).textContent = String(state.initial);
  element('sale', HTMLElement).textContent = `#${state.sale}`;
  bar.style.width = `${(100 * state.stock) / Math.max(1, state.initial)}%`;
  buyButton.disabled = state.stock === 0;
  buyButton.textContent = state.stock === 0 ? 'Sold out' : 'Buy now';
}

/** One purchase attempt: the same idempotency key on every try, so a retry is never a second purchase. */
async function buy(key: string): Promise<BuyResult & { replayed: boolean }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < TRIES; attempt++) {
    try {
      const res = await fetch('api/buy', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ key }),
      });
      if (res.status === 200 || res.status === 409) return (await res.json()) as BuyResult & { replayed: boolean };
      lastError = new Error(`the backend answered ${res.status}`);
      if (res.status < 500) break;
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

buyButton.addEventListener('click', () => {
  const key = crypto.randomUUID();
  result.dataset['result'] = 'pending';
  result.textContent = 'Buying…';
  buy(key).then(
    (answer) => {
      result.dataset['result'] = answer.result;
      if (answer.result === 'bought') {
        result.textContent = `You got one: order #${answer.order} of sale #${answer.state.sale}.`;
        const li = document.createElement('li');
        li.dataset['order'] = String(answer.order);
        const what = document.createElement('span');
        what.textContent = `Order #${answer.order} · sale #${answer.state.sale}`;
        const keyLabel = document.createElement('code');
        keyLabel.textContent = key.slice(0, 8);
        li.append(what, keyLabel);
        orders.prepend(li);
      } else {
        result.textContent = 'Sold out: someone was faster.';
      }
      show(answer.state);
    },
    (error: unknown) => {
      result.dataset['result'] = 'error';
      result.textContent = error instanceof Error ? error.message : String(error);
    },
  );
});

element('reset', HTMLButtonElement).addEventListener('click', () => {
  const stock = Number(element('reset-stock', HTMLInputElement).value);
  fetch('api/reset', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ stock }) })
    .then(async (res) => {
      const body = (await res.json()) as { state?: SaleState; error?: { code: number; message: string } };
      if (body.state !== undefined) show(body.state);
      result.dataset['result'] = body.error === undefined ? '' : 'error';
      result.textContent = body.error === undefined ? 'A new sale is open.' : `${body.error.code}: ${body.error.message}`;
    })
    .catch((error: unknown) => {
      result.textContent = String(error);
    });
});

const client = connectDemo<{ 'flash-sale:stock': SaleState }>('sse');
const sub = client.subscribe('flash-sale:stock', (envelope) => show(envelope.data));

async function start(): Promise<void> {
  await subscribed(sub);
  const res = await fetch('api/state');
  show(((await res.json()) as { state: SaleState }).state);
  document.body.dataset['ready'] = 'true';
}

start().catch((error: unknown) => {
  result.dataset['result'] = 'error';
  result.textContent = error instanceof Error ? error.message : String(error);
});
