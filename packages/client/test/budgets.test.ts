import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain .mjs budget scripts (shared with `npm run budgets`), no type declarations
import { CLIENT_BUDGET_BYTES, measureBundles } from '../../../scripts/budgets/bundle-size.mjs';
// @ts-expect-error: plain .mjs budget scripts, no type declarations
import { CPU_BUDGET_RATIO, measureClientCpu } from '../../../scripts/budgets/client-cpu.mjs';

interface Sizes {
  [name: string]: { minified: number; gzip: number };
}

describe('client budgets (see BENCHMARKS.md)', () => {
  it('keeps the browser bundle within 10 KB minified + gzip, smaller than socket.io-client and centrifuge', async () => {
    const sizes = (await measureBundles()) as Sizes;
    const ours = sizes['@herald/client']!.gzip;
    expect(ours).toBeLessThanOrEqual(CLIENT_BUDGET_BYTES as number);
    expect(ours).toBeLessThan(sizes['socket.io-client']!.gzip);
    expect(ours).toBeLessThan(sizes['centrifuge']!.gzip);
  });

  it('receives 10,000 msg/s with less than 1.5× the CPU of a bare ws client', async () => {
    const result = (await measureClientCpu(3)) as { ratio: number };
    expect(result.ratio).toBeLessThan(CPU_BUDGET_RATIO as number);
  }, 120_000);
});
