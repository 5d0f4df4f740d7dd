import { createClient, type Envelope, type HeraldClient, type Subscription } from '@herald/client';
import { connectDemo, element, hubUrl, transportsFor } from '../../../browser/demo-client.js';

// The list is a fold of the channel's log: every edit is a message, and every page applies the
// messages in offset order, each once (an offset at or below the last applied one is skipped).
// A page never changes its list on a click: its edit shows when it comes back through the log, so
// every page applies the same edits in the same order and ends with the same list. Offline, edits
// wait in an outbox; on reconnect the page subscribes from the cursor after the last edit it
// applied, so the hub replays what it missed, then sends the outbox.

type Edit =
  | { readonly op: 'add'; readonly id: string; readonly text: string }
  | { readonly op: 'check'; readonly id: string; readonly done: boolean }
  | { readonly op: 'move'; readonly id: string; readonly to: number }
  | { readonly op: 'delete'; readonly id: string };

interface Item {
  readonly id: string;
  readonly text: string;
  done: boolean;
}

const LIST = /^[a-z0-9-]{1,40}$/;
/** Edits listed in the side panel. */
const LOGGED = 12;

const params = new URLSearchParams(location.search);
const listName = ((): string => {
  const wanted = params.get('list');
  return wanted !== null && LIST.test(wanted) ? wanted : 'groceries';
})();
const channel = `collab:${listName}`;

const itemsEl = element('items', HTMLOListElement);
const status = element('status', HTMLElement);
const offlineButton = element('offline', HTMLButtonElement);
const offlineNote = element('offline-note', HTMLElement);
const logEl = element('log', HTMLOListElement);
element('list-title', HTMLElement).textContent = channel;
element('channel', HTMLElement).textContent = channel;

const items: Item[] = [];
let applied = 0;
let lastOffset = 0;
let epoch: string | undefined;
/** Where to resume: the cursor after the last edit applied. */
let resumeFrom: string | undefined;
/** Edits made while offline, sent after the reconnect. */
const outbox: { edit: Edit; key: string }[] = [];
let offline = false;
/** Edits applied since the last reconnect began, shown as "replayed". */
let sinceReconnect: number | undefined;

function report(error: unknown): void {
  status.dataset['state'] = 'error';
  status.textContent = error instanceof Error ? error.message : String(error);
}

function isEdit(data: unknown): data is Edit {
  const d = data as Record<string, unknown> | null;
  if (typeof d !== 'object' || d === null || typeof d['id'] !== 'string') return false;
  switch (d['op']) {
    case 'add':
      return typeof d['text'] === 'string';
    case 'check':
      return typeof d['done'] === 'boolean';
    case 'move':
      return Number.isInteger(d['to']);
    case 'delete':
      return true;
    default:
      return false;
  }
}

/** Applies one edit to the list; an edit of an item deleted before it does nothing. */
function applyEdit(edit: Edit): string {
  const index = items.findIndex((item) => item.id === edit.id);
  const item = items[index];
  switch (edit.op) {
    case 'add':
      if (item === undefined) items.push({ id: edit.id, text: edit.text, done: false });
      return `add “${edit.text}”`;
    case 'check':
      if (item !== undefined) item.done = edit.done;
      return `${edit.done ? 'check' : 'uncheck'} “${item?.text ?? '(deleted)'}”`;
    case 'move':
      if (item !== undefined) {
        items.splice(index, 1);
        items.splice(Math.max(0, Math.min(edit.to, items.length)), 0, item);
      }
      return `move “${item?.text ?? '(deleted)'}” to ${edit.to + 1}`;
    case 'delete':
      if (item !== undefined) items.splice(index, 1);
      return `delete “${item?.text ?? '(deleted)'}”`;
  }
}

function apply(envelope: Envelope, cursor: string | undefined): void {
  if (epoch !== undefined && envelope.epoch !== epoch) {
    report(new Error('the hub lost this list (a new epoch): reload the page'));
    return;
  }
  epoch = envelope.epoch;
  if (envelope.offset <= lastOffset) return;
  lastOffset = envelope.offset;
  if (cursor !== undefined) resumeFrom = cursor;
  if (!isEdit(envelope.data)) return;
  applied++;
  if (sinceReconnect !== undefined) sinceReconnect++;
  const line = document.createElement('li');
  line.textContent = `#${envelope.offset} ${applyEdit(envelope.data)}`;
  logEl.prepend(line);
  while (logEl.children.length > LOGGED) logEl.lastElementChild?.remove();
  render();
}

function button(label: string, title: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.title = title;
  b.setAttribute('aria-label', title);
  b.addEventListener('click', onClick);
  return b;
}

interface Row {
  readonly li: HTMLLIElement;
  readonly check: HTMLInputElement;
  readonly up: HTMLButtonElement;
  readonly down: HTMLButtonElement;
}

/** The rows on screen by item id: kept across renders, so a click is not lost to another edit. */
const rows = new Map<string, Row>();

function rowFor(item: Item): Row {
  const existing = rows.get(item.id);
  if (existing !== undefined) return existing;
  const place = (): number => items.findIndex((i) => i.id === item.id);
  const li = document.createElement('li');
  li.dataset['id'] = item.id;
  const check = document.createElement('input');
  check.type = 'checkbox';
  check.setAttribute('aria-label', `done: ${item.text}`);
  check.addEventListener('change', () => {
    // The box shows the log's state, not the click's, until the edit comes back.
    check.checked = item.done;
    edit({ op: 'check', id: item.id, done: !item.done });
  });
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = item.text;
  const up = button('↑', `move up: ${item.text}`, () => edit({ op: 'move', id: item.id, to: place() - 1 }));
  up.className = 'up';
  const down = button('↓', `move down: ${item.text}`, () => edit({ op: 'move', id: item.id, to: place() + 1 }));
  down.className = 'down';
  const remove = button('✕', `delete: ${item.text}`, () => edit({ op: 'delete', id: item.id }));
  remove.className = 'delete';
  li.append(check, text, up, down, remove);
  const row = { li, check, up, down };
  rows.set(item.id, row);
  return row;
}

function render(): void {
  const ids = new Set(items.map((item) => item.id));
  for (const [id, row] of rows) {
    if (ids.has(id)) continue;
    row.li.remove();
    rows.delete(id);
  }
  items.forEach((item, index) => {
    const row = rowFor(item);
    row.li.dataset['done'] = String(item.done);
    row.check.checked = item.done;
    row.up.disabled = index === 0;
    row.down.disabled = index === items.length - 1;
    // Move only the rows out of place.
    if (itemsEl.children[index] !== row.li) itemsEl.insertBefore(row.li, itemsEl.children[index] ?? null);
  });
  element('applied', HTMLElement).textContent = `${applied} edit${applied === 1 ? '' : 's'}`;
  element('last-offset', HTMLElement).textContent = `#${lastOffset}`;
  document.body.dataset['applied'] = String(applied);
  document.body.dataset['lastOffset'] = String(lastOffset);
  offlineButton.textContent = offline ? 'Reconnect' : 'Go offline';
  offlineButton.setAttribute('aria-pressed', String(offline));
  document.body.dataset['offline'] = String(offline);
  const waiting = outbox.length === 0 ? '' : ` ${outbox.length} edit${outbox.length === 1 ? '' : 's'} waiting to be sent.`;
  if (offline) {
    offlineNote.hidden = false;
    offlineNote.textContent = `Offline: nothing comes in, nothing goes out.${waiting}`;
  } else if (sinceReconnect !== undefined) {
    offlineNote.hidden = false;
    offlineNote.textContent = `Back online: ${sinceReconnect} edit${sinceReconnect === 1 ? '' : 's'} applied since the reconnect, each once.${waiting}`;
  } else {
    offlineNote.hidden = true;
  }
}

let client: HeraldClient = connectDemo('websocket');
let sub: Subscription | undefined;

/** Keeps the header's state pill on `next`, as `connectDemo` does for the first client. */
function showState(next: HeraldClient): void {
  const now = element('transport-now', HTMLElement);
  const show = (): void => {
    if (next !== client) return;
    now.dataset['state'] = next.state === 'connected' ? 'live' : next.state;
    now.dataset['transport'] = next.transport ?? '';
    now.textContent = next.state === 'connected' ? `connected over ${next.transport ?? '…'}` : next.state;
  };
  next.on('state', show);
  next.on('transport', show);
  show();
}

function subscribed(s: Subscription): Promise<void> {
  if (s.state === 'subscribed') return Promise.resolve();
  return new Promise((resolve) => {
    const off = s.on('state', (state) => {
      if (state !== 'subscribed') return;
      off();
      resolve();
    });
  });
}

function send(next: Edit, key: string): void {
  if (offline || sub === undefined) {
    outbox.push({ edit: next, key });
    render();
    return;
  }
  // The key makes a retry of the same edit harmless.
  sub.publish(next, { idempotencyKey: key }).catch((error: unknown) => {
    outbox.push({ edit: next, key });
    report(error);
    render();
  });
}

function edit(next: Edit): void {
  send(next, crypto.randomUUID());
}

async function follow(): Promise<void> {
  const current: Subscription = client.subscribe(channel, (envelope) => apply(envelope, current.cursor), { since: resumeFrom });
  sub = current;
  current.on('gap', (gap) => report(new Error(`edits missed (${gap.reason}): reload the page`)));
  await subscribed(current);
  for (const { edit: queued, key } of outbox.splice(0)) send(queued, key);
  render();
}

async function start(): Promise<void> {
  // Every edit so far, oldest first, then live from the cursor the history ended at.
  let page = await client.history(channel);
  for (const envelope of page.messages) apply(envelope, undefined);
  while (page.more === true) {
    page = await client.history(channel, { since: page.cursor });
    for (const envelope of page.messages) apply(envelope, undefined);
  }
  resumeFrom = page.cursor;
  await follow();
  document.body.dataset['ready'] = 'true';
}

async function toggleOffline(): Promise<void> {
  if (!offline) {
    offline = true;
    sub = undefined;
    sinceReconnect = undefined;
    client.close();
    render();
    return;
  }
  offline = false;
  sinceReconnect = 0;
  client = createClient({ url: hubUrl(), transports: transportsFor('websocket') });
  showState(client);
  render();
  await follow();
}

element('add', HTMLFormElement).addEventListener('submit', (event) => {
  event.preventDefault();
  const input = element('item-text', HTMLInputElement);
  const text = input.value.trim();
  if (text === '') return;
  input.value = '';
  edit({ op: 'add', id: crypto.randomUUID().slice(0, 12), text });
});

offlineButton.addEventListener('click', () => {
  toggleOffline().catch(report);
});

render();
start().catch(report);
