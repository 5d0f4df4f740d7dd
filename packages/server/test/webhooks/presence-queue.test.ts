import type { WebhookEvent } from '@herald/protocol';
import {
  JwtAuthenticator,
  MemoryWebhookQueue,
  resolveWebhooks,
  silentLogger,
  systemClock,
  WebhookDispatcher,
  type WebhookOutcome,
} from '@herald/server';
import { eventually, startTestHub, startWebhookApp, type TestHub, type WebhookApp, type WsTestClient } from '@herald/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { owned } from '../owned.js';
import { API_KEY, connectAs, presenceOf, SECRET as JWT_SECRET } from './helpers.js';

const SECRET = 'presence-queue-secret-0123456789';
const PRESENCE = new Set(['presence_join', 'presence_leave', 'channel_occupied', 'channel_vacated']);

const { own, closeAll } = owned();
afterEach(closeAll);

async function start(presenceDebounce: number): Promise<{ app: WebhookApp; hub: TestHub }> {
  const app = own(await startWebhookApp(SECRET));
  const hub = own(
    await startTestHub({
      security: { authenticator: new JwtAuthenticator({ secret: JWT_SECRET }), apiKeys: [API_KEY] },
      webhooks: { url: app.url, secrets: [SECRET], pollInterval: 10, presenceDebounce },
    }),
  );
  return { app, hub };
}

async function tab(hub: TestHub, user: string): Promise<WsTestClient> {
  const client = own(await connectAs(hub.wsUrl, user));
  await client.request({ type: 'subscribe', channel: 'room' });
  return client;
}

async function metric(hub: TestHub, outcome: WebhookOutcome): Promise<number> {
  const text = await (await fetch(`${hub.url}/metrics`, { headers: { 'X-Herald-Key': API_KEY } })).text();
  return Number(new RegExp(`herald_webhook_events_total\\{outcome="${outcome}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
}

const presenceEvents = (app: WebhookApp): WebhookEvent[] =>
  app.deliveries.items.filter((d) => d.status === 200).flatMap((d) => d.events.filter((e) => PRESENCE.has(e.type)));

describe('pending leaves in the webhook queue (one node, memory engine)', () => {
  it('a return within the debounce: the queued leave and vacate are cancelled (counted), never sent', async () => {
    const { app, hub } = await start(300);
    const first = await tab(hub, 'alice');
    await eventually(
      () => presenceEvents(app),
      (events) => events.length === 2,
      'join and occupied',
    );
    await first.close();
    await eventually(
      () => presenceOf(hub.url, 'room'),
      (members) => members.length === 0,
      'alice gone',
    );
    await tab(hub, 'alice');
    await eventually(
      () => metric(hub, 'cancelled'),
      (n) => n === 2,
      'leave and vacate cancelled',
    );
    expect(
      presenceEvents(app)
        .map((e) => e.type)
        .sort(),
    ).toEqual(['channel_occupied', 'presence_join']);
  });

  it('no return: the leave goes out once, after the debounce, with the time it happened', async () => {
    const { app, hub } = await start(300);
    const client = await tab(hub, 'bob');
    await eventually(
      () => presenceEvents(app),
      (events) => events.length === 2,
      'join and occupied',
    );
    const before = Date.now();
    const closing = performance.now();
    await client.close();
    await eventually(
      () => presenceEvents(app),
      (events) => events.length === 4,
      'leave and vacate',
    );
    const leave = app.deliveries.items.find((d) => d.events.some((e) => e.type === 'presence_leave'))!;
    const event = leave.events.find((e) => e.type === 'presence_leave')!;
    expect(event).toMatchObject({ channel: 'room', user: 'bob' });
    expect(event.time).toBeGreaterThanOrEqual(before);
    expect(leave.at - closing).toBeGreaterThanOrEqual(300 - 5);
    expect(await metric(hub, 'cancelled')).toBe(0);
  });
});

describe('WebhookDispatcher after close', () => {
  it('counts an event emitted after close as dropped (and stores nothing)', async () => {
    const counted = new Map<WebhookOutcome, number>();
    const queue = new MemoryWebhookQueue();
    const dispatcher = new WebhookDispatcher(resolveWebhooks({ url: 'http://127.0.0.1:9/', secrets: [SECRET] }), {
      queue,
      node: 'n1',
      clock: systemClock,
      logger: silentLogger,
      observer: { counted: (outcome, n) => counted.set(outcome, (counted.get(outcome) ?? 0) + n), requested: () => undefined },
    });
    await dispatcher.emit({ type: 'channel_occupied', channel: 'before' });
    await dispatcher.close();
    await dispatcher.emit({ type: 'channel_occupied', channel: 'after' });
    expect(Object.fromEntries(counted)).toEqual({ queued: 1, dropped: 1 });
    expect((await queue.counts()).queued).toBe(1);
  });
});
