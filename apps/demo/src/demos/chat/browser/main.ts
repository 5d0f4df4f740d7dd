import type { Envelope, PresenceMember, Subscription } from '@herald/client';
import { connectDemo, element } from '../../../browser/demo-client.js';

// Channels: `chat:<room>` holds the conversation; `chat-meta:<room>` carries who is who (`hello`:
// a presence session id and the name behind it) and typing signals, read live only; `chat-me:<id>`
// is this page's alone, so its presence names exactly this page's session.

interface ChatMessage {
  readonly name: string;
  readonly text: string;
  /** The sending page's id, to tell its own messages apart. */
  readonly from: string;
}
type MetaMessage =
  | { readonly type: 'hello'; readonly client: string; readonly name: string }
  | { readonly type: 'typing'; readonly name: string; readonly from: string };

const ROOMS = ['general', 'random', 'help'] as const;
/** A typing signal shows for this long after it arrives, in ms. */
const TYPING_SHOWN_MS = 4000;
/** At most one typing signal per this many ms while the user types. */
const TYPING_EVERY_MS = 1500;
/** Messages kept on screen. */
const SHOWN = 200;

const text = (value: unknown, max: number): string | undefined =>
  typeof value === 'string' && value.length > 0 && value.length <= max ? value : undefined;

function chatMessage(data: unknown): ChatMessage | undefined {
  const d = data as Partial<Record<keyof ChatMessage, unknown>> | null;
  if (typeof d !== 'object' || d === null) return undefined;
  const name = text(d.name, 40);
  const body = text(d.text, 2000);
  const from = text(d.from, 64);
  return name && body && from ? { name, text: body, from } : undefined;
}

function metaMessage(data: unknown): MetaMessage | undefined {
  const d = data as Record<string, unknown> | null;
  if (typeof d !== 'object' || d === null) return undefined;
  const name = text(d['name'], 40);
  if (name === undefined) return undefined;
  if (d['type'] === 'hello') {
    const client = text(d['client'], 128);
    return client ? { type: 'hello', client, name } : undefined;
  }
  const from = text(d['from'], 64);
  return d['type'] === 'typing' && from ? { type: 'typing', name, from } : undefined;
}

const params = new URLSearchParams(location.search);
const me = crypto.randomUUID().slice(0, 8);
const nameInput = element('name', HTMLInputElement);
nameInput.value = params.get('name') ?? localStorage.getItem('herald-demo-chat-name') ?? `guest-${me.slice(0, 4)}`;
const nameOf = (): string => nameInput.value.trim().slice(0, 40) || `guest-${me.slice(0, 4)}`;

const client = connectDemo('websocket');
const self = client.subscribe(`chat-me:${me}`);

const list = element('messages', HTMLOListElement);
const online = element('online', HTMLUListElement);
const onlineNote = element('online-note', HTMLElement);
const typingLine = element('typing', HTMLElement);
const roomTitle = element('room-title', HTMLElement);
const status = element('status', HTMLElement);

/** Session id → name, from the `hello`s of the current room. */
const names = new Map<string, string>();
/** The current room's presence members by session id. */
const members = new Map<string, PresenceMember>();
/** Who is typing (name → the timer that clears it). */
const typing = new Map<string, ReturnType<typeof setTimeout>>();
let room: string = ROOMS.find((r) => r === params.get('room')) ?? 'general';
let roomSub: Subscription | undefined;
let metaSub: Subscription | undefined;
/** This page's session id as last announced in the current room. */
let announced: string | undefined;
let mySession: string | undefined;
let lastTyping = -Infinity;

function renderOnline(): void {
  const seen = new Set<string>();
  const rows: HTMLLIElement[] = [];
  for (const member of members.values()) {
    const name = names.get(member.client);
    const key = name ?? member.client;
    if (seen.has(key)) continue;
    seen.add(key);
    const li = document.createElement('li');
    li.textContent = name ?? 'someone joining…';
    if (member.client === mySession) li.dataset['me'] = 'true';
    li.dataset['client'] = member.client;
    rows.push(li);
  }
  rows.sort((a, b) => (a.textContent ?? '').localeCompare(b.textContent ?? ''));
  online.replaceChildren(...rows);
  element('online-count', HTMLElement).textContent = String(rows.length);
  onlineNote.hidden = client.transport !== 'polling';
}

function renderTyping(): void {
  const who = [...typing.keys()];
  typingLine.textContent =
    who.length === 0 ? '' : who.length === 1 ? `${who[0]!} is typing…` : `${who.slice(0, -1).join(', ')} and ${who.at(-1)!} are typing…`;
}

function showTyping(name: string): void {
  clearTimeout(typing.get(name));
  typing.set(
    name,
    setTimeout(() => {
      typing.delete(name);
      renderTyping();
    }, TYPING_SHOWN_MS),
  );
  renderTyping();
}

function stopTyping(name: string): void {
  clearTimeout(typing.get(name));
  if (typing.delete(name)) renderTyping();
}

function addMessage(envelope: Envelope): void {
  const message = chatMessage(envelope.data);
  if (message === undefined) return;
  const li = document.createElement('li');
  li.dataset['offset'] = String(envelope.offset);
  if (message.from === me) li.dataset['mine'] = 'true';
  const head = document.createElement('div');
  head.className = 'meta';
  const who = document.createElement('strong');
  who.textContent = message.name;
  const when = document.createElement('time');
  when.textContent = new Date(envelope.time).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  head.append(who, when);
  const body = document.createElement('p');
  body.textContent = message.text;
  li.append(head, body);
  list.append(li);
  while (list.children.length > SHOWN) list.firstElementChild?.remove();
  list.scrollTop = list.scrollHeight;
  stopTyping(message.name);
}

function onMeta(envelope: Envelope, live: boolean): void {
  const meta = metaMessage(envelope.data);
  if (meta === undefined) return;
  if (meta.type === 'hello') {
    names.set(meta.client, meta.name);
    renderOnline();
  } else if (live && meta.from !== me) {
    showTyping(meta.name);
  }
}

/** Resolves once `sub` is subscribed (at once if it is). */
function subscribed(sub: Subscription): Promise<void> {
  if (sub.state === 'subscribed') return Promise.resolve();
  return new Promise((resolve) => {
    const off = sub.on('state', (state) => {
      if (state === 'subscribed') {
        off();
        resolve();
      }
    });
  });
}

/**
 * Tells the room which session is this page's, when it changed: a reconnect, or a new SSE stream,
 * starts a new session. A polling client is no presence member, so it has nothing to tell.
 */
async function announce(): Promise<void> {
  await subscribed(self);
  const [session] = await self.presence();
  mySession = session?.client;
  const sub = metaSub;
  if (mySession === undefined || sub === undefined || announced === mySession) return renderOnline();
  announced = mySession;
  await sub.publish({ type: 'hello', client: mySession, name: nameOf() });
}

/** Every page of a channel's history, oldest first: the last `keep` messages and the cursor after them. */
async function readAll(channel: string, keep: number): Promise<{ messages: Envelope[]; cursor: string }> {
  let page = await client.history(channel);
  let messages = page.messages;
  while (page.more === true) {
    page = await client.history(channel, { since: page.cursor });
    messages = messages.concat(page.messages).slice(-keep);
  }
  return { messages: messages.slice(-keep), cursor: page.cursor };
}

async function join(next: string): Promise<void> {
  roomSub?.unsubscribe();
  metaSub?.unsubscribe();
  room = next;
  names.clear();
  members.clear();
  for (const timer of typing.values()) clearTimeout(timer);
  typing.clear();
  announced = undefined;
  document.body.dataset['ready'] = 'false';
  list.replaceChildren();
  renderTyping();
  roomTitle.textContent = `#${room}`;
  for (const button of document.querySelectorAll<HTMLButtonElement>('#rooms button')) {
    button.setAttribute('aria-pressed', String(button.dataset['room'] === room));
  }
  const url = new URL(location.href);
  url.searchParams.set('room', room);
  history.replaceState(null, '', url);

  // History first, then live from the cursor it ended at: nothing missed, nothing twice.
  const [conversation, meta] = await Promise.all([readAll(`chat:${room}`, SHOWN), readAll(`chat-meta:${room}`, 1000)]);
  if (room !== next) return;
  for (const envelope of conversation.messages) addMessage(envelope);
  for (const envelope of meta.messages) onMeta(envelope, false);
  const conversationSub = client.subscribe(`chat:${room}`, addMessage, { since: conversation.cursor, joinLeave: true });
  const metaChannel = client.subscribe(`chat-meta:${room}`, (envelope) => onMeta(envelope, true), { since: meta.cursor });
  roomSub = conversationSub;
  metaSub = metaChannel;
  conversationSub.on('presence', (change) => {
    if (change.type === 'join') members.set(change.member.client, change.member);
    else members.delete(change.member.client);
    renderOnline();
    // A session nobody named yet may be this page's own new one.
    if (change.type === 'join' && !names.has(change.member.client)) void announce().catch(report);
  });
  await Promise.all([subscribed(conversationSub), subscribed(metaChannel)]);
  if (roomSub !== conversationSub) return;
  for (const member of await conversationSub.presence()) members.set(member.client, member);
  await announce();
  renderOnline();
  document.body.dataset['ready'] = 'true';
}

function report(error: unknown): void {
  status.dataset['state'] = 'error';
  status.textContent = error instanceof Error ? error.message : String(error);
}

element('send', HTMLFormElement).addEventListener('submit', (event) => {
  event.preventDefault();
  const input = element('message', HTMLInputElement);
  const value = input.value.trim();
  if (value === '' || roomSub === undefined) return;
  input.value = '';
  lastTyping = -Infinity;
  status.dataset['state'] = '';
  status.textContent = '';
  roomSub.publish({ name: nameOf(), text: value, from: me }).catch(report);
});

element('message', HTMLInputElement).addEventListener('input', () => {
  const now = performance.now();
  if (metaSub === undefined || now - lastTyping < TYPING_EVERY_MS) return;
  lastTyping = now;
  metaSub.publish({ type: 'typing', name: nameOf(), from: me }).catch(report);
});

nameInput.addEventListener('change', () => {
  localStorage.setItem('herald-demo-chat-name', nameOf());
  announced = undefined;
  announce().catch(report);
});

for (const button of document.querySelectorAll<HTMLButtonElement>('#rooms button')) {
  button.addEventListener('click', () => {
    if (button.dataset['room'] !== room) join(button.dataset['room']!).catch(report);
  });
}

client.on('state', (state) => {
  // A new connection is a new session: name it again.
  if (state === 'connected' && metaSub !== undefined) announce().catch(report);
  renderOnline();
});

join(room).catch(report);
