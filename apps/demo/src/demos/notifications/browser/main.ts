import type { Envelope, Gap, Subscription } from '@herald/client';
import { connectDemo, element } from '../../../browser/demo-client.js';

// Everything the page shows lives in localStorage with the cursor after it, written together after
// each notification: a reload resumes exactly after the last one shown, so what arrived meanwhile
// shows up once.

interface Item {
  readonly id: number;
  readonly title: string;
  readonly body: string;
  readonly source: string;
  readonly time: number;
  readonly offset: number;
  read: boolean;
}

interface Saved {
  cursor: string | undefined;
  items: Item[];
}

/** Notifications kept (and shown). */
const KEPT = 100;

const params = new URLSearchParams(location.search);
const USER = /^[A-Za-z0-9_-]{1,64}$/;
const user = ((): string => {
  const wanted = params.get('user') ?? localStorage.getItem('herald-demo-notifications-user');
  const id = wanted !== null && USER.test(wanted) ? wanted : `u-${crypto.randomUUID().slice(0, 8)}`;
  localStorage.setItem('herald-demo-notifications-user', id);
  return id;
})();
const channel = `notifications:${user}`;
const storageKey = `herald-demo-notifications:${user}`;
const loadedAt = Date.now();

function load(): Saved {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey) ?? 'null') as Saved | null;
    if (saved !== null && Array.isArray(saved.items)) return saved;
  } catch {
    // A damaged entry starts over.
  }
  return { cursor: undefined, items: [] };
}

const state = load();
const save = (): void => localStorage.setItem(storageKey, JSON.stringify(state));

const list = element('notifications', HTMLOListElement);
const badge = element('badge', HTMLElement);
const status = element('status', HTMLElement);
const away = element('away', HTMLElement);
let arrivedWhileAway = 0;

function render(): void {
  const unread = state.items.filter((item) => !item.read).length;
  badge.textContent = String(unread);
  badge.dataset['count'] = String(unread);
  document.title = unread > 0 ? `(${unread}) Herald · notifications demo` : 'Herald · notifications demo';
  list.replaceChildren(
    ...state.items.map((item) => {
      const li = document.createElement('li');
      li.dataset['id'] = String(item.id);
      li.dataset['read'] = String(item.read);
      const title = document.createElement('strong');
      title.textContent = item.title;
      const when = document.createElement('time');
      when.textContent = new Date(item.time).toLocaleTimeString();
      const body = document.createElement('p');
      body.textContent = item.body;
      const source = document.createElement('span');
      source.className = 'source';
      source.textContent = `#${item.id} · ${item.source} · offset ${item.offset}`;
      li.append(title, when, body, source);
      return li;
    }),
  );
  away.hidden = arrivedWhileAway === 0;
  away.textContent = `${arrivedWhileAway} arrived while this page was closed.`;
}

function onNotification(envelope: Envelope, cursor: string | undefined): void {
  const data = envelope.data as Record<string, unknown> | null;
  if (typeof data !== 'object' || data === null || typeof data['id'] !== 'number') return;
  const field = (name: string): string => (typeof data[name] === 'string' ? data[name] : '');
  state.items.unshift({
    id: data['id'],
    title: field('title') || 'Notification',
    body: field('body'),
    source: field('source'),
    time: envelope.time,
    offset: envelope.offset,
    read: false,
  });
  state.items.length = Math.min(state.items.length, KEPT);
  state.cursor = cursor;
  save();
  if (envelope.time < loadedAt) arrivedWhileAway++;
  render();
}

function report(error: unknown): void {
  status.dataset['state'] = 'error';
  status.textContent = error instanceof Error ? error.message : String(error);
}

async function post(path: string, body: unknown): Promise<unknown> {
  const res = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const answer = (await res.json()) as { error?: { code: number; message: string } };
  if (!res.ok) throw new Error(`${answer.error?.code ?? res.status}: ${answer.error?.message ?? res.statusText}`);
  return answer;
}

element('user', HTMLElement).textContent = user;
render();
const client = connectDemo('sse');

async function start(): Promise<void> {
  let since = state.cursor;
  if (since === undefined) {
    // First visit: whatever the channel already holds, then live from the cursor after it.
    const page = await client.history(channel, { limit: KEPT });
    for (const envelope of page.messages) onNotification(envelope, page.cursor);
    state.cursor = page.cursor;
    save();
    since = page.cursor;
  }
  const sub: Subscription = client.subscribe(channel, (envelope) => onNotification(envelope, sub.cursor), { since });
  sub.on('gap', (gap: Gap) => {
    status.dataset['state'] = 'error';
    status.textContent = `Some notifications are no longer kept by the hub (${gap.reason}); showing the newer ones.`;
  });
  sub.on('state', (s) => {
    if (s === 'subscribed') document.body.dataset['ready'] = 'true';
  });
}

element('send-test', HTMLElement).addEventListener('click', () => {
  status.dataset['state'] = '';
  status.textContent = 'Sent: the backend publishes it to your channel.';
  post('api/send', { user }).catch(report);
});

element('mark-read', HTMLElement).addEventListener('click', () => {
  for (const item of state.items) item.read = true;
  arrivedWhileAway = 0;
  save();
  render();
});

const auto = element('auto', HTMLInputElement);
auto.addEventListener('change', () => {
  post('api/auto', { user, on: auto.checked }).catch(report);
});

start().catch(report);
