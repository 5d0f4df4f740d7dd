import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WebhookEvent } from '@herald/protocol';
import { createSqliteEngine } from '@herald/sqlite';
import { eventually, startTestHub, startWebhookApp, WsTestClient, type TestHub, type WebhookApp } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';

const SECRET = 'sqlite-presence-secret-0123456789';
const PRESENCE = new Set(['presence_join', 'presence_leave', 'channel_occupied', 'channel_vacated']);
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function hubOn(path: string, app: WebhookApp, presenceDebounce: number): Promise<TestHub> {
  return startTestHub({
    ...createSqliteEngine({ path }),
    webhooks: { url: app.url, secrets: [SECRET], pollInterval: 10, presenceDebounce },
  });
}

async function cancelled(hub: TestHub): Promise<number> {
  const text = await (await fetch(`${hub.url}/metrics`)).text();
  return Number(/herald_webhook_events_total\{outcome="cancelled"\} (\d+)/.exec(text)?.[1] ?? 0);
}

describe('pending leaves on SQLite (markers in the process): a closing hub sends them at once', () => {
  it('a leave pending at close is sent once; its queued copy is cancelled after the restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-presence-'));
    closers.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
    const path = join(dir, 'hub.db');
    const app = await startWebhookApp(SECRET);
    closers.push(() => app.close());
    const debounce = 1500;
    const first = await hubOn(path, app, debounce);
    const client = await WsTestClient.connect(first.wsUrl);
    await client.request({ type: 'subscribe', channel: 'room' });
    await client.close();
    // The hub closes within the debounce: its in-process marker would not survive, so it sends now.
    await first.close();
    const second = await hubOn(path, app, debounce);
    closers.push(() => second.close());
    const accepted = (): WebhookEvent[] =>
      app.deliveries.items.filter((d) => d.status === 200).flatMap((d) => d.events.filter((e) => PRESENCE.has(e.type)));
    // The queued copies come due on the restarted hub, whose markers are new: cancelled, not sent.
    await eventually(
      () => cancelled(second),
      (n) => n === 2,
      'the queued leave and vacate cancelled',
      { timeoutMs: 10_000 },
    );
    // By id: an event the app accepted while the first hub was closing may come again (at least once).
    const distinct = [...new Map(accepted().map((e) => [e.id, e])).values()];
    expect(distinct.map((e) => e.type).sort()).toEqual(['channel_occupied', 'channel_vacated', 'presence_join', 'presence_leave']);
  });
});
