import type { Envelope } from '@herald/client';
import { connectDemo, element } from '../../../browser/demo-client.js';
import { RateMeter } from './rate-meter.js';
import { RoundTrips } from './round-trip.js';

// One channel per arena, `game:<arena>`, read live only: a position is stale a tick later, so the
// page never reads its history. Every page sends its own position on a fixed tick and draws the
// others' as they arrive; its own updates coming back through the hub give the round trip.

type GameMessage =
  | { readonly type: 'move'; readonly id: string; readonly name: string; readonly x: number; readonly y: number; readonly seq: number }
  | { readonly type: 'leave'; readonly id: string };

interface Player {
  readonly id: string;
  name: string;
  x: number;
  y: number;
  heard: number;
  readonly rate: RateMeter;
  readonly dot: SVGGElement;
  readonly row: HTMLLIElement;
}

/** The rates the page offers, updates per second; `?rate=` picks one. */
const RATES = [20, 30, 45, 60] as const;
const DEFAULT_RATE = 30;
/** An idle player still sends one update this often, in ms, so the others keep its dot. */
const HEARTBEAT_MS = 1000;
/** A player not heard from for this long, in ms, is taken off the arena. */
const STALE_MS = 3000;
/** Arena size in SVG units; positions travel as fractions 0–1 of it. */
const WIDTH = 1000;
const HEIGHT = 500;
/** How far an arrow key moves the dot per tick, as a fraction of the arena. */
const KEY_STEP = 0.008;
/** Updates allowed in flight before the page skips a tick (a stalled connection must not pile them up). */
const MAX_IN_FLIGHT = 120;

const SVG = 'http://www.w3.org/2000/svg';
const params = new URLSearchParams(location.search);
const me = crypto.randomUUID().slice(0, 8);
const myName = (params.get('name') ?? `player-${me.slice(0, 4)}`).slice(0, 24);
const arena = /^[a-z0-9-]{1,32}$/.test(params.get('arena') ?? '') ? params.get('arena')! : 'lobby';
const channel = `game:${arena}`;

const clamp = (v: number): number => Math.min(1, Math.max(0, v));
const round = (v: number): number => Math.round(v * 1000) / 1000;
/** A stable colour per player id (ids are hex). */
function hue(id: string): number {
  let h = 7;
  for (let i = 0; i < id.length; i += 1) h = (h * 31 + id.charCodeAt(i)) % 360;
  return h;
}

function gameMessage(data: unknown): GameMessage | undefined {
  const d = data as Record<string, unknown> | null;
  if (typeof d !== 'object' || d === null || typeof d['id'] !== 'string' || d['id'].length > 64) return undefined;
  if (d['type'] === 'leave') return { type: 'leave', id: d['id'] };
  const { name, x, y, seq } = d;
  if (d['type'] !== 'move' || typeof name !== 'string' || name.length > 24) return undefined;
  if (typeof x !== 'number' || typeof y !== 'number' || typeof seq !== 'number') return undefined;
  return { type: 'move', id: d['id'], name, x: clamp(x), y: clamp(y), seq };
}

const svg = element('arena', HTMLElement).querySelector('svg')!;
const players = element('players', HTMLUListElement);
const rateSelect = element('rate-select', HTMLSelectElement);
const autopilotBox = element('autopilot', HTMLInputElement);
const status = element('status', HTMLElement);

const requested = Number(params.get('rate'));
let rate: number = RATES.find((r) => r === requested) ?? DEFAULT_RATE;
rateSelect.value = String(rate);
autopilotBox.checked = params.get('autopilot') === '1';

const others = new Map<string, Player>();
const trips = new RoundTrips();
const sentRate = new RateMeter();
const held = new Set<string>();
let x = 0.2 + Math.random() * 0.6;
let y = 0.2 + Math.random() * 0.6;
let angle = Math.random() * Math.PI * 2;
let seq = 0;
let dirty = true;
let lastSent = -Infinity;
let inFlight = 0;

function makeDot(id: string, name: string, mine: boolean): SVGGElement {
  const g = document.createElementNS(SVG, 'g');
  g.dataset['player'] = id;
  if (mine) g.dataset['me'] = 'true';
  g.style.setProperty('--hue', String(hue(id)));
  const ring = document.createElementNS(SVG, 'circle');
  ring.setAttribute('r', '16');
  ring.setAttribute('class', 'ring');
  const dot = document.createElementNS(SVG, 'circle');
  dot.setAttribute('r', '10');
  dot.setAttribute('class', 'dot');
  const label = document.createElementNS(SVG, 'text');
  label.setAttribute('y', '-22');
  label.textContent = mine ? `${name} (you)` : name;
  g.append(ring, dot, label);
  svg.append(g);
  return g;
}

function place(g: SVGGElement, px: number, py: number): void {
  g.setAttribute('transform', `translate(${(px * WIDTH).toFixed(1)} ${(py * HEIGHT).toFixed(1)})`);
  g.dataset['x'] = px.toFixed(3);
  g.dataset['y'] = py.toFixed(3);
}

const myDot = makeDot(me, myName, true);
place(myDot, x, y);
element('me-name', HTMLElement).textContent = myName;
element('arena-name', HTMLElement).textContent = channel;

const client = connectDemo<Record<string, GameMessage>>('websocket');
const sub = client.subscribe(channel, onMessage);

function onMessage(envelope: Envelope): void {
  const message = gameMessage(envelope.data);
  if (message === undefined) return;
  const now = performance.now();
  if (message.id === me) {
    if (message.type === 'move') trips.received(message.seq, now);
    return;
  }
  if (message.type === 'leave') return drop(message.id);
  let player = others.get(message.id);
  if (player === undefined) {
    const row = document.createElement('li');
    row.dataset['player'] = message.id;
    player = {
      id: message.id,
      name: message.name,
      x: 0,
      y: 0,
      heard: now,
      rate: new RateMeter(),
      dot: makeDot(message.id, message.name, false),
      row,
    };
    others.set(message.id, player);
    players.append(row);
  }
  player.x = message.x;
  player.y = message.y;
  player.heard = now;
  player.rate.tick(now);
  place(player.dot, player.x, player.y);
}

function drop(id: string): void {
  const player = others.get(id);
  if (player === undefined) return;
  others.delete(id);
  player.dot.remove();
  player.row.remove();
}

function send(now: number): void {
  if (inFlight >= MAX_IN_FLIGHT || sub.state !== 'subscribed') return;
  seq += 1;
  inFlight += 1;
  lastSent = now;
  dirty = false;
  trips.sent(seq, now);
  sentRate.tick(now);
  sub
    .publish({ type: 'move', id: me, name: myName, x: round(x), y: round(y), seq })
    .then(() => {
      status.dataset['state'] = '';
      status.textContent = '';
    })
    .catch((error: unknown) => {
      status.dataset['state'] = 'error';
      status.textContent = error instanceof Error ? error.message : String(error);
    })
    .finally(() => {
      inFlight -= 1;
    });
}

function tick(): void {
  const now = performance.now();
  if (autopilotBox.checked) {
    // A slow Lissajous loop around the middle: every tick moves, so every tick sends.
    angle += (Math.PI * 2) / (rate * 6);
    x = clamp(0.5 + 0.35 * Math.sin(angle));
    y = clamp(0.5 + 0.35 * Math.sin(angle * 2 + 0.6));
    dirty = true;
  }
  const dx = (held.has('ArrowRight') ? 1 : 0) - (held.has('ArrowLeft') ? 1 : 0);
  const dy = (held.has('ArrowDown') ? 1 : 0) - (held.has('ArrowUp') ? 1 : 0);
  if (dx !== 0 || dy !== 0) {
    x = clamp(x + dx * KEY_STEP);
    y = clamp(y + dy * KEY_STEP);
    dirty = true;
  }
  place(myDot, x, y);
  if (dirty || now - lastSent >= HEARTBEAT_MS) send(now);
}

const ms = (value: number | undefined): string => (value === undefined ? '–' : `${value.toFixed(1)} ms`);

function setStat(id: string, text: string, value: number | undefined): void {
  const el = element(id, HTMLElement);
  el.textContent = text;
  el.dataset['value'] = value === undefined ? '' : String(value);
}

function renderStats(): void {
  const now = performance.now();
  for (const player of [...others.values()]) if (now - player.heard > STALE_MS) drop(player.id);
  setStat('rtt-p50', ms(trips.percentile(50)), trips.percentile(50));
  setStat('rtt-p95', ms(trips.percentile(95)), trips.percentile(95));
  setStat('rtt-last', ms(trips.last), trips.last);
  setStat('rtt-count', String(trips.count), trips.count);
  const sending = sentRate.perSecond(now);
  setStat('sent-rate', `${sending.toFixed(1)}/s`, sending);
  element('rate-now', HTMLElement).textContent = String(rate);
  element('via', HTMLElement).textContent =
    client.transport === 'websocket'
      ? 'a frame on the open WebSocket'
      : client.transport === undefined
        ? '…'
        : `an HTTP POST (receiving over ${client.transport})`;
  for (const player of others.values()) {
    const received = player.rate.perSecond(now);
    player.row.dataset['rate'] = String(received);
    player.row.dataset['received'] = String(player.rate.total);
    player.row.style.setProperty('--hue', String(hue(player.id)));
    player.row.textContent = '';
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = player.name;
    const value = document.createElement('span');
    value.className = 'rate';
    value.textContent = `${received.toFixed(1)} updates/s`;
    player.row.append(name, value);
  }
  element('player-count', HTMLElement).textContent = String(others.size + 1);
}

// Ticks on a fixed schedule (tick n at start + n × period), as a timer repeating every period
// would drift: Chromium rounds 16.7 ms down, which is 62.5 ticks a second at 60. A page that fell
// more than a tick behind (a busy machine, a hidden tab) starts over rather than catch up in a burst.
let next = performance.now();
let timer: ReturnType<typeof setTimeout> | undefined;
function schedule(): void {
  const period = 1000 / rate;
  next += period;
  const now = performance.now();
  if (next < now - period) next = now + period;
  timer = setTimeout(() => {
    tick();
    schedule();
  }, next - now);
}
schedule();
setInterval(renderStats, 250);

rateSelect.addEventListener('change', () => {
  rate = Number(rateSelect.value);
  clearTimeout(timer);
  next = performance.now();
  schedule();
  const url = new URL(location.href);
  url.searchParams.set('rate', String(rate));
  history.replaceState(null, '', url);
});

svg.addEventListener('pointermove', (event) => {
  const box = svg.getBoundingClientRect();
  if (box.width === 0 || box.height === 0) return;
  autopilotBox.checked = false;
  x = clamp((event.clientX - box.left) / box.width);
  y = clamp((event.clientY - box.top) / box.height);
  dirty = true;
});

addEventListener('keydown', (event) => {
  if (!event.key.startsWith('Arrow') || event.target instanceof HTMLSelectElement) return;
  event.preventDefault();
  autopilotBox.checked = false;
  held.add(event.key);
});
addEventListener('keyup', (event) => held.delete(event.key));
addEventListener('blur', () => held.clear());
addEventListener('pagehide', () => {
  sub.publish({ type: 'leave', id: me }).catch(() => undefined);
});

sub.on('state', (state) => {
  document.body.dataset['ready'] = String(state === 'subscribed');
  if (state === 'subscribed') dirty = true;
});
