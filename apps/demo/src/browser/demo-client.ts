import { createClient, type ChannelMap, type HeraldClient, type TransportName } from '@herald/client';

const ALL: readonly TransportName[] = ['websocket', 'sse', 'polling'];

/** The hub's URL the host wrote into the page, or the page's own origin (the hub serves the demos itself). */
export function hubUrl(): string {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="herald-url"]')?.content ?? '';
  return meta === '' ? location.origin : meta;
}

/**
 * The transports to try, from the page's `?transport=` (`websocket`, `sse` or `polling`: that one
 * alone): by default `preferred` first, then the others in the SDK's order.
 */
export function transportsFor(preferred: TransportName, search = location.search): TransportName[] {
  const forced = new URLSearchParams(search).get('transport');
  if (forced !== null && (ALL as readonly string[]).includes(forced)) return [forced as TransportName];
  return [preferred, ...ALL.filter((t) => t !== preferred)];
}

/** The element `#id`, which must be on the page and a `type` (`HTMLInputElement`…). */
export function element<T extends HTMLElement>(id: string, type: abstract new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`#${id} is missing from the page or not a ${type.name}`);
  return found;
}

/**
 * A client on the demo's transports, with the header wired: `#transport-now` shows the state and
 * the transport in use, `#transport-select` reloads the page on another choice.
 */
export function connectDemo<Channels extends ChannelMap>(preferred: TransportName): HeraldClient<Channels> {
  const transports = transportsFor(preferred);
  const client = createClient<Channels>({ url: hubUrl(), transports });
  const now = element('transport-now', HTMLElement);
  const select = element('transport-select', HTMLSelectElement);
  select.value = transports.length === 1 ? transports[0]! : 'auto';
  select.addEventListener('change', () => {
    const url = new URL(location.href);
    if (select.value === 'auto') url.searchParams.delete('transport');
    else url.searchParams.set('transport', select.value);
    location.assign(url);
  });
  const show = (): void => {
    const state = client.state;
    now.dataset['state'] = state === 'connected' ? 'live' : state;
    now.dataset['transport'] = client.transport ?? '';
    now.textContent = state === 'connected' ? `connected over ${client.transport ?? '…'}` : state;
  };
  client.on('state', show);
  client.on('transport', show);
  show();
  return client;
}
