import type { WebhooksOptions } from '@herald/server';
import { startTestHub, startWebhookApp, type TestHub, type WebhookApp } from '@herald/testkit';
import { owned, type Closable } from '../owned.js';

/** Webhook apps and hubs of one test file, each closed by `closeAll()` (newest first). */
export interface WebhookTestbed {
  /** Records `thing` to be closed by `closeAll()`. */
  own<T extends Closable>(thing: T): T;
  /** A webhook app checking signatures against the testbed's secret. */
  app(): Promise<WebhookApp>;
  /** A hub sending webhooks (secret, `pollInterval: 10`, then `options`) with the admin API on or off. */
  hub(options: Partial<WebhooksOptions> & { url: string }, admin?: boolean): Promise<TestHub>;
  /** Closes everything started or owned, newest first. */
  closeAll(): Promise<void>;
}

/** Makes a testbed whose apps and hubs share `secret`; `hub`'s admin API is `admin` unless a call says otherwise. */
export function webhookTestbed(secret: string, { admin: adminByDefault = false }: { admin?: boolean } = {}): WebhookTestbed {
  const { own, closeAll } = owned();
  return {
    own,
    closeAll,
    app: async () => own(await startWebhookApp(secret)),
    hub: async (options, admin = adminByDefault) =>
      own(await startTestHub({ webhooks: { secrets: [secret], pollInterval: 10, ...options }, admin })),
  };
}
