import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { ErrorCode, type HookAnswer, type WebhookBatch, type WebhookEvent } from '@herald/protocol';
import { HookCaller, HookFailure, systemClock } from '@herald/server';
import express from 'express';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { HeraldWebhookError, verifyHook, verifyWebhook } from '../src/index.js';

const SECRET = 'shared-secret';

/** The app of docs/hooks.md: one route per kind, raw bodies, verified before anything else. */
function startApp(received: WebhookEvent[]): Promise<Server> {
  const app = express();
  app.post('/herald/hooks', express.raw({ type: 'application/json' }), async (req, res) => {
    let request;
    try {
      request = await verifyHook(req, SECRET);
    } catch (error) {
      if (error instanceof HeraldWebhookError) return void res.status(401).json({ error: error.code });
      throw error;
    }
    let answer: HookAnswer;
    switch (request.hook) {
      case 'subscribe':
        answer = request.channel.startsWith(`user:${request.user ?? ''}`)
          ? { allow: true, info: { via: request.transport } }
          : { allow: false, reason: 'not yours' };
        break;
      case 'publish':
        answer = { allow: true, data: { text: String((request.data as { text: unknown }).text).toUpperCase() } };
        break;
      default:
        answer = { allow: false };
    }
    res.json(answer);
  });
  app.post('/herald/webhooks', express.raw({ type: 'application/json' }), async (req, res) => {
    try {
      const batch = await verifyWebhook(req, SECRET);
      received.push(...batch.events);
      res.json({});
    } catch (error) {
      if (error instanceof HeraldWebhookError) return void res.status(401).json({ error: error.code });
      throw error;
    }
  });
  const server = app.listen(0, '127.0.0.1');
  return once(server, 'listening').then(() => server);
}

let server: Server;
let base: string;
const received: WebhookEvent[] = [];

beforeEach(async () => {
  received.length = 0;
  server = await startApp(received);
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/herald`;
});

afterEach(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

const caller = (secrets: readonly string[]): HookCaller =>
  new HookCaller({ secrets, timeout: 5000, concurrency: 4, maxQueued: 16, clock: systemClock });
const request = { id: 'r1', time: Date.now(), transport: 'sse', client: 'c1', user: 'alice' } as const;

it("the hub's signed hook POSTs reach an Express app behind express.raw + verifyHook, which decides", async () => {
  const hub = caller(['rotated-in', SECRET]);
  expect(await hub.call('subscribe', `${base}/hooks`, { ...request, hook: 'subscribe', channel: 'user:alice' })).toEqual({
    allow: true,
    info: { via: 'sse' },
  });
  expect(await hub.call('subscribe', `${base}/hooks`, { ...request, hook: 'subscribe', channel: 'user:bob' })).toEqual({
    allow: false,
    reason: 'not yours',
  });
  expect(
    await hub.call('publish', `${base}/hooks`, { ...request, hook: 'publish', channel: 'user:alice', data: { text: 'héllo 🎉' } }),
  ).toEqual({
    allow: true,
    data: { text: 'HÉLLO 🎉' },
  });
});

it('a hub with another secret is refused by the app: the call fails closed with 3003', async () => {
  const error: unknown = await caller(['not-the-app-secret'])
    .call('subscribe', `${base}/hooks`, { ...request, hook: 'subscribe', channel: 'user:alice' })
    .catch((reason: unknown) => reason);
  expect(error).toBeInstanceOf(HookFailure);
  expect((error as HookFailure).wireCode).toBe(ErrorCode.HookUnavailable);
  expect((error as HookFailure).outcome).toBe('invalid');
  expect((error as HookFailure).message).toBe('the subscribe hook answered HTTP 401');
});

it('a signed webhook batch reaches verifyWebhook typed; a hook request sent to the webhook URL is refused', async () => {
  const batch: WebhookBatch = {
    events: [
      { id: 'e1', type: 'presence_join', time: Date.now(), channel: 'room:1', user: 'alice', client: 'c1' },
      {
        id: 'e2',
        type: 'connection_closed',
        time: Date.now(),
        client: 'c1',
        user: 'alice',
        transport: 'websocket',
        reason: 'client',
        code: 1000,
      },
    ],
  };
  expect(await caller([SECRET]).call('webhook', `${base}/webhooks`, batch)).toEqual({});
  expect(received).toEqual(batch.events);
  await expect(caller([SECRET]).call('subscribe', `${base}/webhooks`, { ...request, hook: 'subscribe', channel: 'x' })).rejects.toThrow(
    'the subscribe hook answered HTTP 401',
  );
});
