import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import WebSocket from 'ws';
import { encodePosition, parseCursor, type CursorEntry } from '@herald/protocol';
import { poll, publishHttp, startTestHub, type TestHub } from '@herald/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * docs/protocol.md shows what each transport sends when a client resumes from a position the
 * history no longer holds ("captured with a history of 10 messages, offsets 1–15 published,
 * resuming from offset 2"). Those transcripts are not curl examples, so the docs test does not run
 * them: this test reads them and compares their positions with what a hub sends in that case.
 */
const doc = readFileSync(new URL('../../../../docs/protocol.md', import.meta.url), 'utf8');
const start = doc.indexOf('captured with a history of 10 messages, offsets 1–15 published');
const section = doc.slice(start, doc.indexOf('\n## ', start));
/** The section's fenced blocks, the list's indentation taken off. */
const blocks = [...section.replace(/^ {2}/gm, '').matchAll(/^```\n([\s\S]*?)\n```$/gm)].map((m) => m[1]!);
const blockStarting = (text: string): string => {
  const block = blocks.find((b) => b.startsWith(text));
  if (block === undefined) throw new Error(`docs/protocol.md: no gap example starting with ${text}`);
  return block;
};

/** The position a cursor of the docs gives channel `g`. */
function offsetOf(cursor: string): number {
  const parsed = parseCursor(cursor);
  if (!parsed.ok) throw new Error(`not a cursor: ${cursor}`);
  return parsed.value.get('g')!.offset;
}

/** The SSE events of a stream on `g` resuming from `since`, up to the first message. */
function sseUntilMessage(hub: TestHub, since: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(`${hub.url}/events?channel=g`, { headers: { 'last-event-id': since } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (/\n\ndata: \{"type":"message"|\nid: [^\n]+\ndata: \{"type":"message"[^\n]*\n\n/.test(text)) {
          req.destroy();
          resolve(text);
        }
      });
    });
    req.on('error', (error) => (error.message === 'socket hang up' ? undefined : reject(error)));
    req.end();
  });
}

describe('the gap examples of docs/protocol.md', () => {
  let hub: TestHub;
  let since: string;
  let at2: CursorEntry;

  beforeAll(async () => {
    hub = await startTestHub({ historySize: 10 });
    let epoch = '';
    for (let i = 1; i <= 15; i++) epoch = ((await publishHttp(hub.url, 'g', { i })).body as { epoch: string }).epoch;
    at2 = { epoch, offset: 2 };
    since = encodePosition('g', at2);
  });
  afterAll(() => hub.close());

  it('is there to check: one example per transport', () => {
    expect(start).toBeGreaterThan(0);
    expect(blocks).toHaveLength(3);
  });

  it('polling: the gap, then messages from resumed.offset + 1', async () => {
    const block = blockStarting('{"messages"');
    const documented = {
      firstOffset: Number(/"offset":(\d+)/.exec(block)![1]),
      resumed: Number(/"resumed":\{[^}]*"offset":(\d+)/.exec(block)![1]),
    };
    const { body } = await poll(hub.url, `channel=g&since=${encodeURIComponent(since)}`);
    const live = body as { messages: { offset: number }[]; gaps: { resumed: { offset: number }; requested: { offset: number } }[] };
    expect({ firstOffset: live.messages[0]!.offset, resumed: live.gaps[0]!.resumed.offset }).toEqual(documented);
    expect(live.gaps[0]!.requested.offset).toBe(2);
  });

  it('SSE: the ready id and cursor at the resumed position, then the gap, then the next message', async () => {
    const block = blockStarting('retry: ');
    const documented = {
      readyId: offsetOf(/^id: (\S+)\nevent: ready/m.exec(block)![1]!),
      readyCursor: offsetOf(/"type":"ready","cursor":"([^"]+)"/.exec(block)![1]!),
      gapResumed: Number(/event: gap\ndata: .*"resumed":\{[^}]*"offset":(\d+)/.exec(block)![1]),
      firstMessage: Number(/data: \{"type":"message","channel":"g","offset":(\d+)/.exec(block)![1]),
    };
    const text = await sseUntilMessage(hub, since);
    expect({
      readyId: offsetOf(/^id: (\S+)\nevent: ready/m.exec(text)![1]!),
      readyCursor: offsetOf(/"type":"ready","cursor":"([^"]+)"/.exec(text)![1]!),
      gapResumed: Number(/event: gap\ndata: .*"resumed":\{[^}]*"offset":(\d+)/.exec(text)![1]),
      firstMessage: Number(/"type":"message","channel":"g"[^\n]*?"offset":(\d+)/.exec(text)![1]),
    }).toEqual(documented);
  });

  it('WebSocket: the reply at the end of the log, the gap, then the next message', async () => {
    const block = blockStarting('< {"type":"reply"');
    const documented = {
      replyOffset: Number(/"type":"reply".*"position":\{[^}]*"offset":(\d+)/.exec(block)![1]),
      gapResumed: Number(/"type":"gap".*"resumed":\{[^}]*"offset":(\d+)/.exec(block)![1]),
      firstMessage: Number(/"type":"message","channel":"g","offset":(\d+)/.exec(block)![1]),
    };
    const ws = new WebSocket(hub.wsUrl);
    const frames: { type: string; position?: { offset: number }; resumed?: { offset: number }; offset?: number }[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.once('open', () => ws.send(JSON.stringify({ id: 1, type: 'subscribe', channel: 'g', since: at2 })));
      ws.on('message', (raw: Buffer) => {
        frames.push(JSON.parse(raw.toString()) as (typeof frames)[number]);
        if (frames.some((f) => f.type === 'message')) resolve();
      });
    });
    ws.terminate();
    expect({
      replyOffset: frames.find((f) => f.type === 'reply')!.position!.offset,
      gapResumed: frames.find((f) => f.type === 'gap')!.resumed!.offset,
      firstMessage: frames.find((f) => f.type === 'message')!.offset,
    }).toEqual(documented);
  });
});
