import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { git, newestFile, ROOT } from './build-info.mjs';

/**
 * Copies the built server and protocol packages to `bench/.tmp/` (git-ignored) and points the server
 * processes at the copy through HERALD_SERVER_ENTRY. The packages are rebuilt by others while a long
 * run goes on; without the copy, later measurements could load a different build than earlier ones.
 * Third-party dependencies still resolve from the repository's node_modules. Returns what was
 * measured (commit, uncommitted changes under packages/, build time) and a function removing the copy.
 */
export function snapshotBuild() {
  const serverDist = join(ROOT, 'packages/server/dist');
  if (!existsSync(join(serverDist, 'index.js'))) throw new Error('packages/server/dist is missing: run `npm run build` first');
  const dir = join(ROOT, 'bench/.tmp', `build-${process.pid}`);
  const copy = (from, to) => {
    mkdirSync(dirname(to), { recursive: true });
    cpSync(join(ROOT, from, 'package.json'), join(to, 'package.json'));
    cpSync(join(ROOT, from, 'dist'), join(to, 'dist'), { recursive: true });
  };
  copy('packages/server', join(dir, 'server'));
  copy('packages/protocol', join(dir, 'node_modules/@herald/protocol'));
  process.env.HERALD_SERVER_ENTRY = pathToFileURL(join(dir, 'server/dist/index.js')).href;
  const dirty = git(['status', '--porcelain', '--', 'packages']);
  const build = {
    commit: git(['rev-parse', 'HEAD']),
    uncommittedFilesUnderPackages: dirty === null ? null : dirty.split('\n').filter(Boolean).length,
    serverBuiltAt: newestFile(serverDist),
  };
  return { build, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
