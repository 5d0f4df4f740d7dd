import type { WsTestClient } from '@herald/testkit';
import { applyDelta } from 'fossil-delta';
import { expect } from 'vitest';

// What the delta tests (delta.test.ts, delta-compact.test.ts, and the polling ones) share: the
// dashboard states they publish, the reference decoder of docs/protocol.md, and the pushes a
// WebSocket client received.

/** A dashboard of 40 hosts (~4 KB of JSON), multibyte text included. */
export function dashboard(): any {
  const hosts = Array.from({ length: 40 }, (_, i) => ({
    host: `web-${i}.eu-west.example.net`,
    cpu: (i * 7) % 100,
    rps: i * 31,
    status: i % 9 === 0 ? 'dégradé 🔥' : 'ok',
  }));
  return { title: 'Übersicht — prod', updated: 0, hosts };
}

/** The next state: a few numbers change, and now and then a multibyte string. */
export function next(state: any, n: number): any {
  const copy = structuredClone(state);
  copy.updated = n;
  copy.hosts[n % 40].cpu = (n * 13) % 100;
  copy.hosts[(n * 7) % 40].rps = n * 3;
  if (n % 5 === 0) copy.hosts[n % 40].status = n % 10 === 0 ? 'ok' : 'überlastet 🚨 ✓';
  return copy;
}

/** `count` successive dashboard states, the first from `dashboard()`. */
export function states(count: number): any[] {
  const out = [dashboard()];
  for (let n = 1; n < count; n++) out.push(next(out.at(-1), n));
  return out;
}

const units = (text: string): number[] => Array.from({ length: text.length }, (_, i) => text.charCodeAt(i));

/** Applies a delta push's `delta` the way docs/protocol.md describes it (Fossil over UTF-16 code units). */
export function apply(baseData: unknown, delta: string): unknown {
  return JSON.parse(String.fromCharCode(...applyDelta(units(JSON.stringify(baseData)), units(delta))));
}

/**
 * Rebuilds the data of a sequence of pushes (`message` and `delta`), checking each delta follows
 * its base and carries its delta as a string.
 */
export function rebuild(frames: any[]): unknown[] {
  const out: unknown[] = [];
  let previous: any;
  for (const frame of frames) {
    if (frame.type === 'delta') {
      expect(previous).toMatchObject({ epoch: frame.epoch, offset: frame.offset - 1 });
      expect(typeof frame.delta).toBe('string');
      out.push(apply(out.at(-1), frame.delta));
    } else out.push(frame.data);
    previous = frame;
  }
  return out;
}

/** The `message` and `delta` pushes a client received (on `channel` only, when given), in order. */
export const pushes = (client: WsTestClient, channel?: string): any[] =>
  client.frames.items.filter((f) => (f.type === 'message' || f.type === 'delta') && (channel === undefined || f.channel === channel));

/** Waits until the client has received `n` pushes (on `channel`, when given) and returns them all. */
export async function waitPushes(client: WsTestClient, n: number, channel?: string): Promise<any[]> {
  await client.frames.until(() => pushes(client, channel).length >= n, `${n} pushes`);
  return pushes(client, channel);
}
