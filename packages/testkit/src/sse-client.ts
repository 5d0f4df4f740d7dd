import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { CompactExpander } from './compact-expander.js';
import { Collector } from './waiter.js';

/** One parsed SSE event (fields as the EventSource spec reads them). */
export interface SseEvent {
  readonly event: string;
  readonly data: string;
  /** The id field of this event, if it had one. */
  readonly id: string | undefined;
}

/**
 * A raw SSE test client over `node:http` that parses the stream exactly (events, ids, comments,
 * retry), so tests can assert the bytes the hub sends, not what a library makes of them.
 */
export class SseTestClient {
  readonly events = new Collector<SseEvent>();
  readonly comments: string[] = [];
  /** The last id seen (as EventSource's lastEventId would be). */
  lastEventId = '';
  retry: number | undefined;
  /** The data of the hub's `ready` event (`{type: 'ready', cursor}`), once it arrived. */
  readyEvent: { type: string; cursor: string } | undefined;
  readonly response: IncomingMessage;
  readonly ended: Promise<void>;
  readonly #request: ClientRequest;
  readonly #preamble = new Collector<string>();
  /** `format=compact`: the envelopes of the stream's compact items, expanded as they arrived. */
  readonly #expander: CompactExpander | undefined;
  readonly #expanded = new WeakMap<SseEvent, unknown>();

  private constructor(req: ClientRequest, res: IncomingMessage, url: string) {
    const params = new URL(url).searchParams;
    if (params.get('format') === 'compact') {
      const expander = new CompactExpander();
      [...new Set(params.getAll('channel'))].forEach((channel, ref) => expander.bind(ref, channel));
      this.#expander = expander;
    }
    this.#request = req;
    this.response = res;
    let buffer = '';
    let data: string[] = [];
    let event = '';
    let id: string | undefined;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      for (;;) {
        const match = /\r\n|\r|\n/.exec(buffer);
        if (match === null) break;
        const line = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        if (line === '') {
          if (id !== undefined) {
            this.lastEventId = id;
            this.#preamble.push(id);
          }
          // The hub's `ready` preamble is kept apart from the application's events.
          if (event === 'ready') {
            this.readyEvent = JSON.parse(data.join('\n'));
            this.#expander?.toldCursor(this.readyEvent!.cursor);
          } else if (data.length > 0) {
            const parsed: SseEvent = { event: event || 'message', data: data.join('\n'), id };
            const expander = this.#expander;
            if (expander !== undefined && parsed.event === 'gap') {
              const gap = JSON.parse(parsed.data);
              expander.told(gap.channel, gap.resumed.epoch);
            }
            if (expander !== undefined && parsed.event === 'message' && parsed.data.startsWith('['))
              this.#expanded.set(parsed, expander.expand(JSON.parse(parsed.data)));
            this.events.push(parsed);
          }
          data = [];
          event = '';
          id = undefined;
          continue;
        }
        if (line.startsWith(':')) {
          this.comments.push(line.slice(1));
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') data.push(value);
        else if (field === 'event') event = value;
        else if (field === 'id' && !value.includes('\0')) id = value;
        else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
      }
    });
    this.ended = new Promise((resolve) => {
      res.once('end', resolve);
      res.once('close', resolve);
      res.once('error', () => resolve());
    });
  }

  /** Opens `GET url` (a full URL with query) with optional headers; resolves once headers arrived. */
  static connect(url: string, headers: Record<string, string> = {}): Promise<SseTestClient> {
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) =>
        resolve(new SseTestClient(req, res, url)),
      );
      req.on('error', reject);
      req.end();
    });
  }

  /** Parsed envelopes of the unnamed (`message`) events received so far (compact items expanded). */
  messages(channel?: string): any[] {
    return this.events.items
      .filter((e) => e.event === 'message')
      .map((e) => this.#expanded.get(e) ?? JSON.parse(e.data))
      .filter((m) => channel === undefined || m.channel === channel);
  }

  /** Resolves once `n` unnamed events arrived. */
  async waitForMessages(n: number, timeoutMs?: number): Promise<any[]> {
    await this.events.until((es) => es.filter((e) => e.event === 'message').length >= n, `${n} SSE messages`, timeoutMs);
    return this.messages();
  }

  /** Resolves once the stream preamble (retry + initial id) has been read. */
  async ready(timeoutMs?: number): Promise<void> {
    await this.#preamble.count(1, timeoutMs);
  }

  close(): Promise<void> {
    this.#request.destroy();
    return this.ended;
  }
}
