import { createClient, type Envelope, type HeraldClient, type Subscription, type TransportName } from '@herald/client';
import { connectDemo, element, hubUrl } from '../../../browser/demo-client.js';
import { subscribed } from '../../../browser/subscribed.js';
import type { Order, VehiclesUpdate } from '../backend.js';
import { AVENUES, DEPOT, MAP_HEIGHT, MAP_WIDTH, STREETS } from '../routes.js';

// The page subscribes to both channels first and reads the backend's state once confirmed, so an
// update published in between is in one or the other; ticks and order ids decide which is newer.

interface State {
  readonly interval: { readonly vehicles: number; readonly orders: number };
  readonly vehicles: VehiclesUpdate;
  readonly total: number;
  readonly orders: readonly Order[];
}

/** Orders drawn in the chart and kept on the page. */
const CHARTED = 60;
/** Latency samples the median is taken over. */
const SAMPLES = 30;
const SVG = 'http://www.w3.org/2000/svg';

const svg = <K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] => {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
};
const money = new Intl.NumberFormat('en-IE', { style: 'currency', currency: 'EUR' });
const euros = (cents: number): string => money.format(cents / 100);
const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
/** How long ago `at` was, to a tenth of a second. */
const ago = (at: number): string => `${(Math.max(0, Date.now() - at) / 1000).toFixed(1)} s ago`;

// The static map: blocks between the streets, the streets, the depot.
/** The SVG element `#id`, which must be on the page and a `type`. */
function svgById<T extends SVGElement>(id: string, type: abstract new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`#${id} is missing from the page or not a ${type.name}`);
  return found;
}

const streets = svgById('streets', SVGGElement);
streets.append(svg('rect', { x: 0, y: 0, width: MAP_WIDTH, height: MAP_HEIGHT, class: 'block' }));
for (const x of AVENUES) streets.append(svg('line', { x1: x, y1: 20, x2: x, y2: MAP_HEIGHT - 20, class: 'street' }));
for (const y of STREETS) streets.append(svg('line', { x1: 20, y1: y, x2: MAP_WIDTH - 20, y2: y, class: 'street' }));
streets.append(svg('rect', { x: DEPOT.x - 9, y: DEPOT.y - 9, width: 18, height: 18, rx: 4, class: 'depot' }));
const depotLabel = svg('text', { x: DEPOT.x + 14, y: DEPOT.y - 12, class: 'depot-label' });
depotLabel.textContent = 'depot';
streets.append(depotLabel);

const vehiclesLayer = svgById('vehicles', SVGGElement);
const tickLabel = element('tick', HTMLElement);
const vehicleAge = element('vehicle-age', HTMLElement);
const totalLabel = element('total', HTMLElement);
const orderCount = element('order-count', HTMLElement);
const chart = svgById('chart', SVGSVGElement);
const latest = element('latest', HTMLOListElement);
const compare = element('compare', HTMLTableSectionElement);

let tick = 0;
let lastVehicleAt: number | undefined;
const orders: Order[] = [];

function showVehicles(update: VehiclesUpdate): void {
  if (update.tick <= tick && tick !== 0) return;
  tick = update.tick;
  lastVehicleAt = Date.now();
  vehiclesLayer.style.setProperty('--move', `${update.interval}ms`);
  for (const vehicle of update.vehicles) {
    let g = vehiclesLayer.querySelector<SVGGElement>(`[data-id="${CSS.escape(vehicle.id)}"]`);
    if (g === null) {
      g = svg('g', { class: 'vehicle', 'data-id': vehicle.id });
      const label = svg('text', { x: 11, y: -9 });
      label.textContent = vehicle.id;
      g.append(svg('circle', { r: 8 }), label);
      vehiclesLayer.append(g);
    }
    g.dataset['x'] = String(vehicle.x);
    g.dataset['y'] = String(vehicle.y);
    g.style.transform = `translate(${vehicle.x}px, ${vehicle.y}px)`;
  }
  element('vehicle-count', HTMLElement).textContent = String(update.vehicles.length);
  tickLabel.dataset['tick'] = String(update.tick);
  tickLabel.textContent = `tick ${update.tick}`;
}

function drawChart(): void {
  const shown = orders.slice(-CHARTED);
  chart.replaceChildren();
  if (shown.length < 2) return;
  const low = shown[0]!.total - shown[0]!.amount;
  const high = shown[shown.length - 1]!.total;
  const x = (i: number): number => 4 + (i / (shown.length - 1)) * 312;
  const y = (v: number): number => 108 - ((v - low) / Math.max(1, high - low)) * 92;
  const points = shown.map((o, i) => `${x(i).toFixed(1)},${y(o.total).toFixed(1)}`).join(' ');
  chart.append(
    svg('polygon', { points: `${x(0)},110 ${points} ${x(shown.length - 1)},110`, class: 'area' }),
    svg('polyline', { points, class: 'line' }),
  );
  const top = svg('text', { x: 4, y: 12, class: 'axis' });
  top.textContent = euros(high);
  const bottom = svg('text', { x: 4, y: 118, class: 'axis' });
  bottom.textContent = `${euros(low)} · last ${shown.length} orders`;
  chart.append(top, bottom);
}

function showOrder(order: Order): void {
  const newest = orders[orders.length - 1];
  if (newest !== undefined && order.id <= newest.id) return;
  orders.push(order);
  if (orders.length > CHARTED) orders.shift();
  totalLabel.textContent = euros(order.total);
  totalLabel.dataset['total'] = String(order.total);
  totalLabel.dataset['order'] = String(order.id);
  orderCount.textContent = String(order.id);
  latest.replaceChildren(
    ...orders
      .slice(-4)
      .reverse()
      .map((o) => {
        const li = document.createElement('li');
        const what = document.createElement('span');
        what.textContent = `order #${o.id}`;
        const amount = document.createElement('span');
        amount.textContent = `+${euros(o.amount)}`;
        li.append(what, amount);
        return li;
      }),
  );
  drawChart();
}

/** One row of the comparison: a transport's updates on the vans' channel and their latency. */
class Meter {
  readonly row = document.createElement('tr');
  updates = 0;
  lastAt: number | undefined;
  readonly #samples: number[] = [];
  readonly #cells: HTMLTableCellElement[];

  constructor(id: string, label: string, transport: TransportName | undefined) {
    this.row.id = id;
    const name = document.createElement('td');
    const pill = document.createElement('span');
    pill.className = 'pill';
    if (transport !== undefined) pill.dataset['transport'] = transport;
    pill.textContent = label;
    name.append(pill);
    this.#cells = [0, 1, 2, 3].map(() => document.createElement('td'));
    this.row.append(name, ...this.#cells);
    compare.append(this.row);
    this.render();
  }

  label(text: string, transport: TransportName | undefined): void {
    const pill = this.row.querySelector('.pill') as HTMLElement;
    pill.textContent = text;
    if (transport !== undefined) pill.dataset['transport'] = transport;
  }

  record(update: VehiclesUpdate): void {
    const latency = Math.max(0, Date.now() - update.sentAt);
    this.updates++;
    this.lastAt = Date.now();
    this.#samples.push(latency);
    if (this.#samples.length > SAMPLES) this.#samples.shift();
    this.row.dataset['updates'] = String(this.updates);
    this.row.dataset['latency'] = String(latency);
    this.render();
  }

  render(): void {
    const sorted = [...this.#samples].sort((a, b) => a - b);
    const last = this.#samples[this.#samples.length - 1];
    const median = sorted[Math.floor(sorted.length / 2)];
    const [updates, latency, mid, age] = this.#cells as [
      HTMLTableCellElement,
      HTMLTableCellElement,
      HTMLTableCellElement,
      HTMLTableCellElement,
    ];
    updates.textContent = String(this.updates);
    latency.textContent = last === undefined ? '–' : `${last} ms`;
    mid.textContent = median === undefined ? '–' : `${median} ms`;
    age.textContent = this.lastAt === undefined ? '–' : ago(this.lastAt);
  }
}

const client = connectDemo<{ 'dashboard:vehicles': VehiclesUpdate; 'dashboard:orders': Order }>('sse');
const mine = new Meter('meter-page', 'this page', undefined);
client.on('transport', (t) => mine.label(`this page · ${t}`, t));

function onVehicles(envelope: Envelope<VehiclesUpdate>): void {
  mine.record(envelope.data);
  showVehicles(envelope.data);
}

const vehiclesSub: Subscription<VehiclesUpdate> = client.subscribe('dashboard:vehicles', onVehicles);
const ordersSub: Subscription<Order> = client.subscribe('dashboard:orders', (envelope) => showOrder(envelope.data));

/**
 * A second client forced onto one transport, measuring the same channel. It runs only while the
 * page is visible: each held connection counts against the browser's six per host over HTTP/1.1.
 */
function probe(transport: TransportName, label: string): Meter {
  const meter = new Meter(`meter-${transport}`, label, transport);
  let other: HeraldClient<{ 'dashboard:vehicles': VehiclesUpdate }> | undefined;
  const follow = (): void => {
    if (document.visibilityState === 'visible' && other === undefined) {
      other = createClient({ url: hubUrl(), transports: [transport] });
      other.subscribe('dashboard:vehicles', (envelope) => meter.record(envelope.data));
    } else if (document.visibilityState === 'hidden' && other !== undefined) {
      other.close();
      other = undefined;
    }
  };
  document.addEventListener('visibilitychange', follow);
  follow();
  return meter;
}
const meters = [mine, probe('sse', 'SSE'), probe('polling', 'long-polling')];

setInterval(() => {
  for (const meter of meters) meter.render();
  vehicleAge.textContent = lastVehicleAt === undefined ? '–' : ago(lastVehicleAt);
}, 250);

async function start(): Promise<void> {
  await Promise.all([subscribed(vehiclesSub), subscribed(ordersSub)]);
  const res = await fetch('api/state');
  const state = (await res.json()) as State;
  element('vehicle-interval', HTMLElement).textContent = seconds(state.interval.vehicles);
  element('order-interval', HTMLElement).textContent = seconds(state.interval.orders);
  showVehicles(state.vehicles);
  // Orders that arrived live while the state was on its way are newer; keep them after the older ones.
  const live = orders.splice(0);
  for (const order of [...state.orders, ...live].sort((a, b) => a.id - b.id)) showOrder(order);
  document.body.dataset['ready'] = 'true';
}

start().catch((error: unknown) => {
  tickLabel.dataset['state'] = 'error';
  tickLabel.textContent = error instanceof Error ? error.message : String(error);
});
