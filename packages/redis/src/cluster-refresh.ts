import { ClientOfflineError } from '@redis/client';

/** What a {@link ClusterRefresh} needs of a node-redis cluster client. */
export interface RefreshableCluster {
  readonly masters: readonly { readonly address: string }[];
  readonly _slots: { rediscover(): Promise<void> };
}

/**
 * A refresh asked for by a failing command starts only this many ms after the last one ended: while
 * a shard has no primary, its commands then fail at once instead of each waiting for a look-up.
 */
const REFRESH_INTERVAL = 100;
/** How long a failing command waits for a refresh before it fails (the refresh goes on). */
const REFRESH_WAIT = 1000;

/** The refreshers of the links to one cluster, by its (redacted) URL: the connections of a node. */
const groups = new Map<string, { members: Set<ClusterRefresh>; primaries: string }>();

/**
 * Slot refreshes (`CLUSTER SLOTS`) of one link's cluster client, shared with the node's other links
 * to the same cluster. Each node-redis cluster client finds a new primary on its own, at its next
 * reconnection attempt to the failed one (its backoff reaches 2 s): without this, one of the node's
 * connections (commands, pub/sub, presence…) could still send to the failed primary for a second or
 * two after another one already used the new one. Here, the first link that sees the primaries
 * change has every other link refresh at once, and a command that could not be sent (the
 * connection to its slot's primary down) refreshes its own link's slots and is sent once more.
 */
export class ClusterRefresh {
  readonly #cluster: RefreshableCluster;
  readonly #where: string;
  readonly #group: { members: Set<ClusterRefresh>; primaries: string };
  #running: Promise<void> | undefined;
  /** The primaries this link's cluster client knew when last looked at. */
  #known = '';
  readonly #waiting = new Set<() => void>();
  #endedAt = -Infinity;
  #closed = false;

  constructor(cluster: RefreshableCluster, where: string) {
    this.#cluster = cluster;
    this.#where = where;
    let group = groups.get(where);
    if (group === undefined) {
      group = { members: new Set(), primaries: '' };
      groups.set(where, group);
    }
    this.#group = group;
    group.members.add(this);
  }

  /**
   * The cluster client may know other primaries than the node's other links (after a refresh of
   * its own, or a new primary's connection up): if so, the others refresh at once.
   */
  observe(): void {
    if (this.#closed) return;
    const primaries = primariesOf(this.#cluster);
    if (primaries === '') return;
    if (primaries !== this.#known) {
      const first = this.#known === '';
      this.#known = primaries;
      if (!first) for (const resolve of this.#waiting) resolve();
    }
    if (primaries === this.#group.primaries) return;
    const first = this.#group.primaries === '';
    this.#group.primaries = primaries;
    // The first link to connect tells the others nothing new.
    if (first) return;
    for (const member of this.#group.members) if (member !== this) void member.#refresh().catch(() => undefined);
  }

  /**
   * Refreshes the slots unless one ended less than {@link REFRESH_INTERVAL} ms ago (joins one
   * running); waits at most {@link REFRESH_WAIT} ms. Never rejects.
   */
  async refresh(): Promise<void> {
    if (this.#closed) return;
    if (this.#running === undefined && performance.now() - this.#endedAt < REFRESH_INTERVAL) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#refresh().catch(() => undefined),
      new Promise((resolve) => {
        timer = setTimeout(resolve, REFRESH_WAIT);
      }),
    ]);
    clearTimeout(timer);
  }

  #refresh(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#running ??= this.#cluster._slots
      .rediscover()
      .then(() => this.observe())
      .finally(() => {
        this.#running = undefined;
        this.#endedAt = performance.now();
      });
    return this.#running;
  }

  /**
   * `reply`, or `undefined` once this link's cluster client learned other primaries first (a
   * subscribe queued on the connection of a primary that failed may wait for it until the command
   * timeout: it can then be sent again).
   */
  async unlessMoved<T>(reply: Promise<T>): Promise<{ value: T } | undefined> {
    let resolve = (): void => undefined;
    const moved = new Promise<undefined>((done) => {
      resolve = () => done(undefined);
    });
    this.#waiting.add(resolve);
    try {
      return await Promise.race([reply.then((value) => ({ value })), moved]);
    } finally {
      this.#waiting.delete(resolve);
    }
  }

  close(): void {
    this.#closed = true;
    this.#group.members.delete(this);
    if (this.#group.members.size === 0) groups.delete(this.#where);
  }
}

/**
 * Whether `error` says a command was never carried out, so sending it again cannot run it twice:
 * the connection to its slot's primary was down (node-redis refuses such a command at once), or the
 * cluster answered `CLUSTERDOWN` (nothing run).
 */
export function notSent(error: unknown): boolean {
  return error instanceof ClientOfflineError || (error instanceof Error && error.message.startsWith('CLUSTERDOWN'));
}

function primariesOf(cluster: RefreshableCluster): string {
  return cluster.masters
    .map((node) => node.address)
    .sort()
    .join(',');
}
