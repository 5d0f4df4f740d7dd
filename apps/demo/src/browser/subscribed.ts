import type { Subscription } from '@herald/client';

/** Resolves once `sub` is confirmed by the hub (at once when it already is). */
export function subscribed<T>(sub: Subscription<T>): Promise<void> {
  return new Promise((resolve) => {
    if (sub.state === 'subscribed') return resolve();
    const off = sub.on('state', (state) => {
      if (state !== 'subscribed') return;
      off();
      resolve();
    });
  });
}
