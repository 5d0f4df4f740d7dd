import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { git, newestFile, ROOT } from './build-info.mjs';

/** The workspace packages a `herald start --engine redis://…` node loads, and what of each it needs. */
const PACKAGES = [
  { from: 'packages/herald', to: 'herald', parts: ['dist', 'public'] },
  { from: 'packages/server', to: 'node_modules/@herald/server', parts: ['dist'] },
  { from: 'packages/protocol', to: 'node_modules/@herald/protocol', parts: ['dist'] },
  { from: 'packages/redis', to: 'node_modules/@herald/redis', parts: ['dist'] },
  { from: 'packages/sqlite', to: 'node_modules/@herald/sqlite', parts: ['dist'] },
  { from: 'packages/nats', to: 'node_modules/@herald/nats', parts: ['dist'] },
];

/**
 * Copies the built CLI and the workspace packages it loads to `bench/.tmp/cluster-<pid>/`
 * (git-ignored), as lib/build-snapshot.mjs does for the fan-out benchmark: others rebuild the
 * packages while a long run goes on, and every node of every measurement must load the same build.
 * Third-party dependencies resolve from the repository's node_modules. Returns the CLI entry (a
 * file URL exporting `main`), what was measured, and a function removing the copy.
 */
export function snapshotClusterBuild() {
  for (const { from } of PACKAGES) {
    if (!existsSync(join(ROOT, from, 'dist/index.js'))) throw new Error(`${from}/dist is missing: run \`npm run build\` first`);
  }
  const dir = join(ROOT, 'bench/.tmp', `cluster-${process.pid}`);
  for (const { from, to, parts } of PACKAGES) {
    mkdirSync(join(dir, to), { recursive: true });
    cpSync(join(ROOT, from, 'package.json'), join(dir, to, 'package.json'));
    for (const part of parts) cpSync(join(ROOT, from, part), join(dir, to, part), { recursive: true });
  }
  const dirty = git(['status', '--porcelain', '--', 'packages']);
  const build = {
    commit: git(['rev-parse', 'HEAD']),
    uncommittedFilesUnderPackages: dirty === null ? null : dirty.split('\n').filter(Boolean).length,
    heraldBuiltAt: newestFile(join(ROOT, 'packages/herald/dist')),
    serverBuiltAt: newestFile(join(ROOT, 'packages/server/dist')),
    redisBuiltAt: newestFile(join(ROOT, 'packages/redis/dist')),
  };
  return {
    cli: pathToFileURL(join(dir, 'herald/dist/cli.js')).href,
    build,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
