import { createClient, type ClientOptions, type HeraldClient } from '@herald/client/node';
import { HeraldProvider } from '@herald/react';
import type { PresenceMember } from '@herald/protocol';
import { MemoryPresenceStore } from '@herald/server';
import { startTestHub, type TestHub } from '@herald/testkit';
import { act, StrictMode, type ReactNode } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, expect, vi, type MockInstance } from 'vitest';

/** The channel map every test registers: `chat` is typed, any other name carries `unknown`. */
export type TestChannels = { chat: { text: string } } & Record<string, unknown>;

declare module '@herald/react' {
  interface Register {
    channels: TestChannels;
  }
}

declare global {
  var IS_REACT_ACT_ENVIRONMENT: boolean | undefined;
}

/** Counts the hub's presence writes: one `add` per hub-side subscription, one `remove` per unsubscribe. */
export class CountingPresenceStore extends MemoryPresenceStore {
  readonly adds: string[] = [];
  readonly removes: string[] = [];

  override add(channel: string, entry: PresenceMember): Promise<void> {
    this.adds.push(channel);
    return super.add(channel, entry);
  }

  override remove(channel: string, client: string): Promise<void> {
    this.removes.push(channel);
    return super.remove(channel, client);
  }

  /** How many times `channel` was added and removed. */
  count(channel: string): { adds: number; removes: number } {
    return { adds: this.adds.filter((c) => c === channel).length, removes: this.removes.filter((c) => c === channel).length };
  }
}

/** A mounted React tree. */
export interface Mounted {
  readonly container: HTMLElement;
  /** Renders `node` in place of the current tree. */
  rerender(node: ReactNode): Promise<void>;
  unmount(): Promise<void>;
}

/**
 * Runs `update` inside `act`, so the render and its effects are flushed on return. Outside `act`,
 * the act environment is off: the hub's messages re-render the tree on React's own schedule, and
 * tests wait for the DOM with `vi.waitFor`.
 */
export async function inAct(update: () => void): Promise<void> {
  globalThis.IS_REACT_ACT_ENVIRONMENT = true;
  try {
    await act(async () => {
      update();
      await Promise.resolve();
    });
  } finally {
    globalThis.IS_REACT_ACT_ENVIRONMENT = false;
  }
}

/** A hub with counted presence, the clients and trees of one test; everything closed after it. */
export interface Harness {
  readonly hub: TestHub;
  readonly presence: CountingPresenceStore;
  /** A client of the hub (closed after the test). */
  client(options?: Partial<ClientOptions>): HeraldClient<TestChannels>;
  /** Renders `node` inside `<HeraldProvider client={client}>` (and `<StrictMode>` when `strict`). */
  mount(client: HeraldClient<TestChannels>, node: ReactNode, options?: { strict?: boolean; releaseDelay?: number }): Promise<Mounted>;
  /** Connects `client` and resolves once it is connected. */
  connected(client: HeraldClient<TestChannels>): Promise<void>;
}

/** Registers the per-test setup and teardown; the returned harness is valid inside each test. */
export function setupHarness(): Harness {
  let hub: TestHub | undefined;
  let presence: CountingPresenceStore | undefined;
  const clients: HeraldClient<TestChannels>[] = [];
  const roots: Root[] = [];
  let consoleError: MockInstance<typeof console.error> | undefined;

  beforeEach(async () => {
    globalThis.IS_REACT_ACT_ENVIRONMENT = false;
    // React reports misuse (unstable snapshots, updates during render, act warnings) on console.error.
    consoleError = vi.spyOn(console, 'error');
    presence = new CountingPresenceStore();
    hub = await startTestHub({ presence });
  });

  afterEach(async () => {
    for (const root of roots.splice(0)) await inAct(() => root.unmount());
    for (const client of clients.splice(0)) client.close();
    await hub?.close();
    document.body.replaceChildren();
    const errors = consoleError?.mock.calls ?? [];
    consoleError?.mockRestore();
    expect(errors, 'React logged errors').toEqual([]);
  });

  const wrap = (client: HeraldClient<TestChannels>, node: ReactNode, options: { strict?: boolean; releaseDelay?: number }): ReactNode => {
    const tree = (
      <HeraldProvider client={client} releaseDelay={options.releaseDelay}>
        {node}
      </HeraldProvider>
    );
    return options.strict === true ? <StrictMode>{tree}</StrictMode> : tree;
  };

  return {
    get hub() {
      return hub!;
    },
    get presence() {
      return presence!;
    },
    client(options = {}) {
      const client = createClient<TestChannels>({
        url: hub!.url,
        transports: ['websocket'],
        reconnect: { minDelay: 20, maxDelay: 100 },
        ...options,
      });
      clients.push(client);
      return client;
    },
    async mount(client, node, options = {}) {
      const container = document.createElement('div');
      document.body.append(container);
      const root = createRoot(container);
      roots.push(root);
      await inAct(() => root.render(wrap(client, node, options)));
      return {
        container,
        rerender: (next) => inAct(() => root.render(wrap(client, next, options))),
        unmount: async () => {
          roots.splice(roots.indexOf(root), 1);
          await inAct(() => root.unmount());
        },
      };
    },
    async connected(client) {
      if (client.state === 'connected') return;
      const done = new Promise<void>((resolve) => client.on('state', (state) => state === 'connected' && resolve()));
      client.connect();
      await done;
    },
  };
}

/** The texts of the elements matching `selector`. */
export function texts(container: HTMLElement, selector: string): string[] {
  return [...container.querySelectorAll(selector)].map((element) => element.textContent);
}
