import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { QUEUE_DEPTH_WAIT, webhookMetrics } from './webhook-metrics.js';

describe('herald_webhook_queue_depth', () => {
  it('reports the counts, and the previous ones when the queue does not answer within the bound', async () => {
    const registry = new Registry();
    let answer: () => Promise<{ queued: number; dead: number }> = () => Promise.resolve({ queued: 3, dead: 1 });
    webhookMetrics(registry, () => answer());
    expect(await registry.metrics()).toContain('herald_webhook_queue_depth{state="queued"} 3');
    // A frozen engine: counts never resolve. The scrape still ends, with the last values.
    answer = () => new Promise(() => undefined);
    const started = performance.now();
    const text = await registry.metrics();
    expect(performance.now() - started).toBeLessThan(QUEUE_DEPTH_WAIT + 1000);
    expect(text).toContain('herald_webhook_queue_depth{state="queued"} 3');
    expect(text).toContain('herald_webhook_queue_depth{state="dead"} 1');
  });
});
