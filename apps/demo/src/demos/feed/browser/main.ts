import type { Envelope, Position } from '@herald/client';
import { parseCursor } from '@herald/protocol';
import { connectDemo, element, hubUrl } from '../../../browser/demo-client.js';

// New posts: a subscription from the end of the log, each one put on top. Older posts: history
// pages read backwards by position — `since {epoch, offset: oldest - 1 - PAGE}`, `limit PAGE` —
// each put below the last. Every offset is shown once; the two never overlap because the live
// subscription starts exactly where the first history page ends.

/** Posts per history page. */
const PAGE = 10;
const FEED = /^[a-z0-9-]{1,40}$/;
const COLORS = ['#3b5bdb', '#0f9488', '#b8327e', '#c98a00', '#1f9d55', '#7048e8', '#d64545'];

const params = new URLSearchParams(location.search);
const feedName = ((): string => {
  const wanted = params.get('feed');
  return wanted !== null && FEED.test(wanted) ? wanted : 'main';
})();
const channel = `feed:${feedName}`;

const list = element('posts', HTMLOListElement);
const status = element('status', HTMLElement);
const olderButton = element('load-older', HTMLButtonElement);
const olderNote = element('older-note', HTMLElement);
const authorInput = element('author', HTMLInputElement);
const textInput = element('text', HTMLTextAreaElement);
element('feed-title', HTMLElement).textContent = channel;
element('channel', HTMLElement).textContent = channel;
element('simulated', HTMLElement).textContent =
  feedName === 'main' ? 'The demo’s simulator posts here every 4 s.' : 'No simulator posts on this feed (only feed:main has one).';
authorInput.value = params.get('name') ?? localStorage.getItem('herald-demo-feed-name') ?? `guest-${crypto.randomUUID().slice(0, 4)}`;

/** The offsets shown, so none is shown twice. */
const shown = new Set<number>();
let epoch = '';
/** The oldest offset shown (or where the first page ends when it is empty). */
let oldest = 0;
let newest = 0;
let atStart = false;
let loading = false;

function report(error: unknown): void {
  status.dataset['state'] = 'error';
  status.textContent = error instanceof Error ? error.message : String(error);
}

function postItem(envelope: Envelope, live: boolean): HTMLLIElement {
  const data = (typeof envelope.data === 'object' && envelope.data !== null ? envelope.data : {}) as Record<string, unknown>;
  const author = typeof data['author'] === 'string' ? data['author'] : 'someone';
  const li = document.createElement('li');
  li.dataset['offset'] = String(envelope.offset);
  if (live) li.dataset['live'] = 'true';
  const avatar = document.createElement('span');
  avatar.className = 'avatar';
  avatar.textContent = String.fromCodePoint(author.codePointAt(0) ?? 63).toUpperCase();
  let hash = 0;
  for (let i = 0; i < author.length; i++) hash += author.charCodeAt(i);
  avatar.style.background = COLORS[hash % COLORS.length]!;
  const head = document.createElement('div');
  head.className = 'post-head';
  const who = document.createElement('strong');
  who.textContent = author;
  const when = document.createElement('time');
  when.textContent = new Date(envelope.time).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const offset = document.createElement('span');
  offset.className = 'offset';
  offset.textContent = `#${envelope.offset}${data['source'] === 'simulator' ? ' · simulator' : ''}`;
  head.append(who, when, offset);
  const body = document.createElement('p');
  body.textContent = typeof data['text'] === 'string' ? data['text'] : '';
  li.append(avatar, head, body);
  return li;
}

function renderInfo(): void {
  element('shown', HTMLElement).textContent = shown.size === 0 ? 'none' : `${shown.size} posts, offsets ${oldest}–${newest}`;
  olderButton.disabled = atStart || loading;
  olderButton.hidden = atStart;
  olderNote.textContent = atStart ? (shown.size === 0 ? 'Nothing posted yet.' : 'You reached the start of the feed.') : '';
  document.body.dataset['atStart'] = String(atStart);
}

function onLive(envelope: Envelope): void {
  if (envelope.epoch !== epoch || shown.has(envelope.offset)) return;
  shown.add(envelope.offset);
  newest = Math.max(newest, envelope.offset);
  if (oldest === 0) oldest = envelope.offset;
  list.prepend(postItem(envelope, true));
  renderInfo();
}

/** Reads the page of at most {@link PAGE} posts just before offset `before` and puts it at the bottom. */
async function loadBefore(before: number): Promise<void> {
  const from = Math.max(0, before - 1 - PAGE);
  const limit = before - 1 - from;
  if (limit <= 0) {
    atStart = true;
    return;
  }
  let page = await client.history(channel, { since: { epoch, offset: from } satisfies Position, limit });
  const messages = [...page.messages];
  const gapped = (page.gaps?.length ?? 0) > 0;
  // A page cut short by the hub's byte cap goes on from its cursor.
  while (page.more === true && messages.at(-1)!.offset < before - 1) {
    page = await client.history(channel, { since: page.cursor, limit: before - 1 - messages.at(-1)!.offset });
    messages.push(...page.messages);
  }
  element('last-page', HTMLElement).textContent = `since #${from}, limit ${limit}: ${messages.length} posts`;
  const older = messages.filter((m) => m.epoch === epoch && m.offset < before && !shown.has(m.offset));
  for (const envelope of older.reverse()) {
    shown.add(envelope.offset);
    list.append(postItem(envelope, false));
    oldest = envelope.offset;
  }
  // A page starting at offset 0, or cut by the retention window (a gap), holds the oldest post kept.
  if (from === 0 || gapped || older.length === 0) atStart = true;
}

async function loadOlder(): Promise<void> {
  if (loading || atStart) return;
  loading = true;
  renderInfo();
  try {
    await loadBefore(oldest);
  } finally {
    loading = false;
    renderInfo();
  }
}

const client = connectDemo('sse');

async function start(): Promise<void> {
  // Where the log ends now: GET /api/history with since=now answers a cursor at its end.
  const res = await fetch(`${hubUrl()}/api/history?channel=${encodeURIComponent(channel)}&since=now`);
  const answer = (await res.json()) as { cursor?: string; error?: { code: number; message: string } };
  if (!res.ok || answer.cursor === undefined)
    throw new Error(`${answer.error?.code ?? res.status}: ${answer.error?.message ?? 'no cursor'}`);
  const parsed = parseCursor(answer.cursor);
  const head = parsed.ok ? parsed.value.get(channel) : undefined;
  if (head === undefined) throw new Error('the hub answered a cursor without this feed');
  epoch = head.epoch;
  newest = head.offset;
  oldest = head.offset + 1;
  element('live-from', HTMLElement).textContent = `after #${head.offset}`;
  const sub = client.subscribe(channel, onLive, { since: answer.cursor });
  sub.on('gap', (gap) => report(new Error(`some posts are no longer kept by the hub (${gap.reason})`)));
  await loadBefore(oldest);
  if (shown.size === 0) oldest = 0;
  renderInfo();
  await new Promise<void>((resolve) => {
    if (sub.state === 'subscribed') return resolve();
    const off = sub.on('state', (state) => {
      if (state !== 'subscribed') return;
      off();
      resolve();
    });
  });
  document.body.dataset['ready'] = 'true';
}

olderButton.addEventListener('click', () => {
  loadOlder().catch(report);
});

async function send(text: string): Promise<void> {
  const res = await fetch('api/post', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ feed: feedName, author: authorInput.value, text }),
  });
  if (res.ok) return;
  const answer = (await res.json()) as { error?: { code: number; message: string } };
  throw new Error(`${answer.error?.code ?? res.status}: ${answer.error?.message ?? res.statusText}`);
}

element('post-form', HTMLFormElement).addEventListener('submit', (event) => {
  event.preventDefault();
  const text = textInput.value.trim();
  if (text === '') return;
  localStorage.setItem('herald-demo-feed-name', authorInput.value.trim());
  textInput.value = '';
  status.dataset['state'] = '';
  status.textContent = '';
  send(text).catch(report);
});

renderInfo();
start().catch(report);
