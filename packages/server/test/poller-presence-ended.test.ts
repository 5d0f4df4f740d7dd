import { ErrorCode } from '@herald/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { CursorSigner } from '../src/auth/cursor-signer.js';
import { HeraldError } from '../src/errors.js';
import { Hub } from '../src/hub/hub.js';
import { silentLogger } from '../src/logger.js';
import { MemoryBroker } from '../src/memory/memory-broker.js';
import { MemoryPresenceStore } from '../src/memory/memory-presence-store.js';
import { PollerPresence, type PollerPresenceOptions } from '../src/transport/poller-presence.js';

const presences: PollerPresence[] = [];
const hubs: Hub[] = [];

afterEach(async () => {
  for (const presence of presences.splice(0)) presence.close();
  for (const hub of hubs.splice(0)) await hub.close();
});

/** A node's polling sessions on a memory hub, on a clock the test moves (`clock.now`, ms). */
function pollers(options: Partial<PollerPresenceOptions> = {}): { presence: PollerPresence; clock: { now: number } } {
  const clock = { now: 0 };
  const hub = new Hub({ broker: new MemoryBroker(), presence: new MemoryPresenceStore() });
  hubs.push(hub);
  const signer = new CursorSigner(['s'.repeat(32)]);
  const presence = new PollerPresence(hub, signer, silentLogger, { grace: 30, now: () => clock.now, ...options });
  presences.push(presence);
  return { presence, clock };
}

/** A session of `user` started by a poll that ended (as the transport releases it): its token and id. */
function started(presence: PollerPresence, user: string): { token: string; client: string } {
  const { session } = presence.session('new', user)!;
  presence.release(session);
  return { token: session.token, client: session.client };
}

/** What a poll presenting `token` gets: `refused` (2003), or whether the session was started again. */
function poll(presence: PollerPresence, token: string, user: string): 'refused' | 'accepted' {
  try {
    expect(presence.session(token, user)?.issued).toBe(false);
    return 'accepted';
  } catch (error) {
    if (error instanceof HeraldError && error.wireCode === ErrorCode.Disconnected) return 'refused';
    throw error;
  }
}

describe('PollerPresence ended sessions', () => {
  it('remembers at most maxEnded: past it the oldest token is accepted again, the others still refused', () => {
    const { presence } = pollers({ maxEnded: 3 });
    const sessions = [0, 1, 2, 3].map(() => started(presence, 'alice'));
    for (const { client } of sessions.slice(0, 3)) presence.disconnect({ client });
    expect(sessions.slice(0, 3).map(({ token }) => poll(presence, token, 'alice'))).toEqual(['refused', 'refused', 'refused']);
    presence.disconnect({ client: sessions[3]!.client });
    expect(sessions.map(({ token }) => poll(presence, token, 'alice'))).toEqual(['accepted', 'refused', 'refused', 'refused']);
  });

  it('forgets each one a grace period after its last disconnect, an id ended again counting from then', () => {
    const { presence, clock } = pollers();
    const [a, b] = [started(presence, 'alice'), started(presence, 'bob')];
    presence.disconnect({ client: a.client });
    clock.now = 10_000;
    presence.disconnect({ client: b.client });
    clock.now = 20_000;
    presence.disconnect({ client: a.client });
    clock.now = 35_000;
    presence.sweep();
    expect([poll(presence, a.token, 'alice'), poll(presence, b.token, 'bob')]).toEqual(['refused', 'refused']);
    clock.now = 45_000;
    presence.sweep();
    expect([poll(presence, a.token, 'alice'), poll(presence, b.token, 'bob')]).toEqual(['refused', 'accepted']);
    clock.now = 55_000;
    presence.sweep();
    expect(poll(presence, a.token, 'alice')).toBe('accepted');
  });

  it('reports the sessions a user match ended, not those a client match names', () => {
    const reported: string[][] = [];
    const { presence } = pollers({ onEnded: (clients) => reported.push([...clients]) });
    const [a1, a2, bob] = [presence.session('new', 'alice')!, presence.session('new', 'alice')!, presence.session('new', 'bob')!];
    presence.disconnect({ client: bob.session.client });
    expect(reported).toEqual([]);
    expect(presence.disconnect({ user: 'alice', client: a1.session.client })).toEqual([a1.session, a2.session]);
    expect(reported).toEqual([[a2.session.client]]);
    expect(presence.disconnect({ user: 'carol' })).toEqual([]);
    expect(reported).toHaveLength(1);
  });

  it('refuses a maxEnded that is not a positive integer', () => {
    expect(() => pollers({ maxEnded: 0 })).toThrow(new RangeError('maxEnded must be an integer >= 1'));
  });
});
