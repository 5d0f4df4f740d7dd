// The packages as npm would publish them: `npm pack` of every published workspace, the tarballs
// installed into a fresh project outside the repository, and there `npx herald start`, the SDKs
// imported from node_modules, and a message received. Needs `npm run build` first (npm test does).
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@herald/testkit';
import {
  cleanEnv,
  entryFiles,
  filesUnder,
  importedPackages,
  installScripts,
  isFile,
  pack,
  publishedWorkspaces,
  readPackageJson,
  ROOT,
  runAsync,
  type PackEntry,
} from './packed/pack.js';

/** Set to compile better-sqlite3 in the fresh project as a user's install does (about 1.5 min more). */
const BUILD_NATIVE = process.env.HERALD_PACK_BUILD_NATIVE === '1';

const PUBLISHED = publishedWorkspaces();
let work = '';
let project = '';
let packed: PackEntry[] = [];
let hub: ChildProcess | undefined;

const installed = (name: string): string => join(project, 'node_modules', name);

beforeAll(async () => {
  if (!isFile(join(ROOT, 'packages/herald/dist/cli.js'))) throw new Error('packages are not built: run `npm run build` first');
  // Outside the repository: nothing may resolve through the workspace's node_modules.
  work = mkdtempSync(join(tmpdir(), 'herald-packed-'));
  expect(relative(ROOT, work).startsWith('..')).toBe(true);
  project = join(work, 'project');
  mkdirSync(join(work, 'tarballs'), { recursive: true });
  mkdirSync(project);

  packed = pack(PUBLISHED, join(work, 'tarballs'));
  const root = readPackageJson(ROOT);
  const dependencies = Object.fromEntries(packed.map((entry) => [entry.name, `file:../tarballs/${entry.filename}`]));
  // The React the workspace tests @herald/react with, as the app's own (react is a peer).
  for (const name of ['react', 'react-dom']) dependencies[name] = root.devDependencies![name]!;
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'herald-packed-check', private: true, type: 'module', dependencies }),
  );
  copyFileSync(new URL('./packed/consumer.mjs', import.meta.url), join(project, 'consumer.mjs'));

  // The npm cache holds every third-party package after the workspace's `npm ci`.
  const install = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel', 'error'];
  await runAsync('npm', BUILD_NATIVE ? install : [...install, '--ignore-scripts'], project, BUILD_NATIVE ? 300_000 : 120_000);
  if (!BUILD_NATIVE) {
    // Only better-sqlite3 builds at install (a C++ compile of about 1.5 min): take the workspace's
    // build of the very same version instead. A new dependency with an install step fails here.
    expect(Object.fromEntries(installScripts(join(project, 'node_modules')))).toEqual({
      'better-sqlite3': expect.any(String),
    });
    const workspaceSqlite = join(ROOT, 'node_modules/better-sqlite3');
    expect(readPackageJson(installed('better-sqlite3')).version).toBe(readPackageJson(workspaceSqlite).version);
    const binary = 'build/Release/better_sqlite3.node';
    mkdirSync(dirname(join(installed('better-sqlite3'), binary)), { recursive: true });
    copyFileSync(join(workspaceSqlite, binary), join(installed('better-sqlite3'), binary));
  }
}, 360_000);

afterAll(async () => {
  if (hub?.pid !== undefined) await stopGroup(hub.pid);
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

/** SIGTERM to the process group (npx and the hub it started); resolves once every one is gone. */
async function stopGroup(pgid: number): Promise<void> {
  const alive = (): boolean => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(-pgid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (alive()) {
    if (Date.now() > deadline) {
      process.kill(-pgid, 'SIGKILL');
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the packed packages', () => {
  it('are every workspace but the private test kit', () => {
    expect(PUBLISHED.sort()).toEqual([
      'apps/demo',
      'packages/backend',
      'packages/client',
      'packages/herald',
      'packages/nats',
      'packages/protocol',
      'packages/react',
      'packages/redis',
      'packages/server',
      'packages/sqlite',
    ]);
    expect(packed.map((entry) => entry.name).sort()).toEqual(PUBLISHED.map((dir) => readPackageJson(join(ROOT, dir)).name).sort());
  });

  it('hold the build, its sources, a README and the LICENSE, and no tests, build state or secrets', () => {
    const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
    for (const entry of packed) {
      const paths = entry.files.map((file) => file.path);
      expect(paths, entry.name).toEqual(
        expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts']),
      );
      expect(readFileSync(join(installed(entry.name), 'LICENSE'), 'utf8'), entry.name).toBe(license);
      expect(readFileSync(join(installed(entry.name), 'README.md'), 'utf8'), entry.name).toMatch(new RegExp(`^# ${entry.name}\n`));
      const unwanted = paths.filter(
        (path) =>
          /\.test\.tsx?$|(^|\/)(test|tests|__tests__|fixtures)\//.test(path) ||
          /tsbuildinfo|(^|\/)\.env|\.npmrc|\.pem$|\.key$|\.p12$|id_rsa|\.tgz$|\.log$/.test(path) ||
          !/^(dist|src|bin|public)\/|^(LICENSE|README\.md|package\.json)$/.test(path),
      );
      expect(unwanted, entry.name).toEqual([]);
      for (const path of paths.filter((p) => /\.(js|ts|json|html|css|md)$/.test(p))) {
        expect(readFileSync(join(installed(entry.name), path), 'utf8'), `${entry.name}/${path}`).not.toMatch(
          /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
        );
      }
    }
  });

  it('have source maps whose sources are in the package', () => {
    for (const entry of packed) {
      const maps = entry.files.map((file) => file.path).filter((path) => path.endsWith('.map'));
      expect(maps.length, entry.name).toBeGreaterThan(0);
      for (const map of maps) {
        const { sources } = JSON.parse(readFileSync(join(installed(entry.name), map), 'utf8')) as { sources: string[] };
        const missing = sources.filter((source) => !isFile(join(installed(entry.name), dirname(map), source)));
        expect(missing, `${entry.name}/${map}`).toEqual([]);
      }
    }
  });

  it('declare the metadata npm shows, and every entry point exists', () => {
    for (const entry of packed) {
      const pkg = readPackageJson(installed(entry.name));
      const dir = PUBLISHED.find((d) => readPackageJson(join(ROOT, d)).name === entry.name)!;
      expect(pkg.private, entry.name).toBeUndefined();
      expect(pkg.license, entry.name).toBe('MIT');
      expect(pkg.repository, entry.name).toEqual({
        type: 'git',
        url: readPackageJson(join(ROOT, 'packages/herald')).repository!.url,
        directory: dir,
      });
      expect(pkg.engines?.node, entry.name).toBe(readPackageJson(ROOT).engines!.node);
      expect(pkg.keywords?.length, entry.name).toBeGreaterThan(0);
      expect(pkg.sideEffects, entry.name).toBe(false);
      const missing = entryFiles(pkg).filter((file) => !isFile(join(installed(entry.name), file)));
      expect(missing, entry.name).toEqual([]);
    }
  });

  it('import only what they declare', () => {
    for (const entry of packed) {
      const pkg = readPackageJson(installed(entry.name));
      const declared = new Set([pkg.name, ...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
      // The modules tsc compiled (each has its .d.ts) and the bin; the browser bundles import nothing.
      const modules = filesUnder(installed(entry.name)).filter(
        (path) =>
          (path.startsWith('dist/') && path.endsWith('.js') && isFile(join(installed(entry.name), path.replace(/\.js$/, '.d.ts')))) ||
          path.startsWith('bin/'),
      );
      for (const path of modules) {
        const undeclared = [...importedPackages(readFileSync(join(installed(entry.name), path), 'utf8'))].filter(
          (name) => !declared.has(name),
        );
        expect(undeclared, `${entry.name}/${path}`).toEqual([]);
      }
    }
  });

  it('find the packages a module imports', () => {
    const source = `import a from 'a/deep';\nexport * from '@s/p/q';\nawait import("c");\nimport 'node:fs';\nimport 'fs';\nimport './local.js';\nrequire('d');`;
    expect([...importedPackages(source)].sort()).toEqual(['@s/p', 'a', 'c', 'd']);
  });

  it('run: `npx herald start` from the install, and @herald/client receives a message published over HTTP', async () => {
    const port = await freePort();
    // Its own process group, so npx and the hub it starts stop together.
    const child = spawn(
      'npx',
      ['--no', 'herald', 'start', '--host', '127.0.0.1', '--port', String(port), '--engine', `sqlite:${join(work, 'herald.db')}`],
      {
        cwd: project,
        env: cleanEnv(),
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    hub = child;
    const url = `http://127.0.0.1:${port}`;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const seen = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes(url)) resolve();
      };
      child.stdout.on('data', seen);
      child.stderr.on('data', seen);
      child.once('exit', (code) => reject(new Error(`npx herald start exited with ${code}:\n${output}`)));
    });

    const result = JSON.parse(await runAsync(process.execPath, ['consumer.mjs', url, join(work, 'embedded.db')], project)) as Record<
      string,
      unknown
    >;
    expect(result).toEqual({
      fromCli: { channel: 'packed:news', offset: 1, data: { title: 'from the packed backend' } },
      transport: 'websocket',
      fromEmbedded: { channel: 'packed:local', offset: 1, data: { title: 'in-process' } },
      html: '<p>idle</p>',
      exports: { protocol: 'number', redis: 'function' },
    });
    // The dev profile's demo pages, built into the packed @herald/demo.
    const demo = await fetch(`${url}/demo/chat/main.js`);
    expect(demo.status).toBe(200);
    expect(demo.headers.get('content-type')).toBe('text/javascript; charset=utf-8');

    await stopGroup(child.pid!);
    hub = undefined;
  });
});
