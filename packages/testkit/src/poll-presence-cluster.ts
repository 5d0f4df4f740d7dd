import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { eventually } from './eventually.js';
import { startHeraldNode, type HeraldNode } from './herald-node.js';
import { poll } from './test-hub.js';
import { uniqueChannel } from './unique-channel.js';
import { startWebhookApp } from './webhook-app.js';
import { WsTestClient } from './ws-client.js';

/** Options of {@link checkPollPresenceAcrossNodes}. */
export interface PollPresenceClusterOptions {
  /** The `--engine` value of the three nodes: `redis://…`, `nats://…`. */
  readonly engine: string;
  /** Polls the session makes alternating between two nodes, A and B (each answered within 0.3 s), before it polls B only. @default 12 */
  readonly polls?: number;
}

/**
 * One polling session whose polls alternate between two of three hub processes (the built CLI on
 * `engine`, production profile with one API key, so one cursor key; `pollPresenceGrace` 1 s), then
 * stay on the second past the first's grace period, is one presence member of the cluster: listed
 * once by `GET /api/presence` on every node while it polls; one `join` and, once it stops, one
 * `leave` seen by a WebSocket subscriber on the third node, none in between; one `presence_join`
 * and one `presence_leave` webhook event. Uses `expect`; stops the nodes it started.
 */
export async function checkPollPresenceAcrossNodes(options: PollPresenceClusterOptions): Promise<void> {
  // The production profile (its API key, shared, is the cursor key that signs session tokens), open
  // to anonymous clients on the namespace `pc`, with presence webhook events sent at once.
  const webhookSecret = randomBytes(16).toString('hex');
  const webhooks = await startWebhookApp(webhookSecret);
  const dir = mkdtempSync(join(tmpdir(), 'herald-poll-cluster-'));
  const config = join(dir, 'herald.json');
  const open = { subscribe: 'anonymous', publish: 'none', history: 'anonymous', presence: 'anonymous' };
  writeFileSync(
    config,
    JSON.stringify({
      auth: { secret: randomBytes(24).toString('hex') },
      apiKeys: [randomBytes(24).toString('hex')],
      allowAnonymous: true,
      namespaces: { pc: open },
      pollPresenceGrace: 1,
      webhooks: { url: webhooks.url, secrets: [webhookSecret], events: ['presence_join', 'presence_leave'], presenceDebounce: 0 },
    }),
  );
  const nodes: HeraldNode[] = [];
  let watcher: WsTestClient | undefined;
  try {
    const started = await Promise.allSettled([0, 1, 2].map(() => startHeraldNode({ engine: options.engine, args: ['--config', config] })));
    for (const result of started) if (result.status === 'fulfilled') nodes.push(result.value);
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    const [a, b, c] = nodes as [HeraldNode, HeraldNode, HeraldNode];
    const channel = `pc:${uniqueChannel('poll-cluster')}`;
    watcher = await WsTestClient.connect(`ws://127.0.0.1:${c.port}/ws`);
    await watcher.request({ type: 'subscribe', channel, joinLeave: true });
    const members = async (node: HeraldNode): Promise<string[]> =>
      ((await (await fetch(`${node.url}/api/presence?channel=${channel}`)).json()) as { members: { client: string }[] }).members.map(
        (m) => m.client,
      );
    // The watcher is a member too: the others are the polling session.
    const [own] = await members(c);
    const listed = async (node: HeraldNode): Promise<string[]> => (await members(node)).filter((client) => client !== own);
    const first = await poll(a.url, `channel=${channel}&since=now&session=new`);
    const token = first.body.session as string;
    const client = token.split('.')[0]!;
    const posted = (type: string): unknown[] =>
      webhooks.deliveries.items
        .flatMap((d) => d.events)
        .filter(
          (e) =>
            (e.type === 'presence_join' || e.type === 'presence_leave') && e.type === type && e.channel === channel && e.client === client,
        );
    const events = (type: string): unknown[] =>
      watcher!.frames.items.filter((f: { type: string; member?: { client: string } }) => f.type === type && f.member?.client === client);

    // Polling A, B, A, B… for longer than twice the grace period.
    let cursor = first.body.cursor as string;
    const polls = options.polls ?? 12;
    for (let i = 1; i <= polls; i++) {
      const answer = await poll((i % 2 === 1 ? b : a).url, `channel=${channel}&since=${cursor}&session=${token}&wait=0.3`);
      // The token is accepted on every node: no new session is handed out.
      expect(answer.body.session).toBeUndefined();
      cursor = answer.body.cursor as string;
      if (i % 4 === 0) for (const node of nodes) expect(await listed(node)).toEqual([client]);
    }
    // Then B only, until A's grace period is over (A lets the member go, B still holds it).
    const moved = performance.now() + 1600;
    while (performance.now() < moved) {
      cursor = (await poll(b.url, `channel=${channel}&since=${cursor}&session=${token}&wait=0.3`)).body.cursor as string;
    }
    for (const node of nodes) expect(await listed(node)).toEqual([client]);
    await eventually(() => events('join').length > 0, 'the join on the third node');
    expect(events('join')).toHaveLength(1);
    expect(events('leave')).toEqual([]);
    await eventually(() => posted('presence_join').length > 0, 'the presence_join webhook event');
    expect(posted('presence_leave')).toEqual([]);

    // It stops: one leave, once the grace period after its last poll (on B) is over.
    await eventually(() => events('leave').length > 0, 'the leave on the third node');
    await eventually(() => posted('presence_leave').length > 0, 'the presence_leave webhook event');
    for (const node of nodes) expect(await listed(node)).toEqual([]);
    // No second leave comes afterwards (from A or B).
    const settled = performance.now() + 1500;
    await eventually(() => performance.now() > settled, 'a grace period and a sweep', { intervalMs: 100 });
    expect(events('leave')).toHaveLength(1);
    expect(events('join')).toHaveLength(1);
    expect(posted('presence_leave')).toHaveLength(1);
    expect(posted('presence_join')).toHaveLength(1);
  } finally {
    await watcher?.close();
    await Promise.allSettled(nodes.map((node) => node.stop(3000)));
    await webhooks.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
