import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// docs/embedding.md shows each framework recipe as the file frameworks.test.ts runs: every code
// block marked `<!-- file: PATH -->` must be that file, byte for byte.

const root = new URL('../../../../', import.meta.url);
const doc = readFileSync(new URL('docs/embedding.md', root), 'utf8');
const blocks = [...doc.matchAll(/<!-- file: (\S+) -->\n```ts\n([\s\S]*?)```\n/g)].map(([, path, code]) => [path!, code!] as const);

describe('docs/embedding.md', () => {
  it('shows one recipe per framework', () => {
    expect(blocks.map(([path]) => path)).toEqual([
      'packages/server/test/embedding/apps/express-app.ts',
      'packages/server/test/embedding/apps/fastify-app.ts',
      'packages/server/test/embedding/apps/hono-app.ts',
      'packages/server/test/embedding/apps/koa-app.ts',
    ]);
  });

  it.each(blocks)('shows %s exactly as the tests run it', (path, code) => {
    expect(code).toBe(readFileSync(new URL(path, root), 'utf8'));
  });
});
