import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** What `npm pack --json` tells of one tarball (the fields read here). */
export interface PackEntry {
  readonly name: string;
  readonly filename: string;
  readonly files: readonly { readonly path: string }[];
}

/** A package.json, the fields read here. */
export interface PackageJson {
  readonly name: string;
  readonly private?: boolean;
  readonly license?: string;
  readonly repository?: { readonly type: string; readonly url: string; readonly directory: string };
  readonly engines?: { readonly node?: string };
  readonly keywords?: readonly string[];
  readonly sideEffects?: boolean;
  readonly bin?: Readonly<Record<string, string>>;
  readonly exports?: Readonly<Record<string, string | Readonly<Record<string, string>>>>;
  readonly files?: readonly string[];
  readonly scripts?: Readonly<Record<string, string>>;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
  readonly workspaces?: readonly string[];
  readonly version: string;
}

export const readPackageJson = (dir: string): PackageJson => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;

/** The workspaces that are published (not `private`), as paths relative to the root. */
export function publishedWorkspaces(): string[] {
  return (readPackageJson(ROOT).workspaces ?? []).filter((dir) => readPackageJson(join(ROOT, dir)).private !== true);
}

/**
 * The environment for npm and the hub: without the `npm_*` variables of an `npm test` around the
 * run (a workspace, a prefix), and without the caller's hub settings (`HERALD_*`, `PORT`), keeping
 * only the run marker the leftover-hub check needs.
 */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !/^npm_/i.test(name) && name !== 'PORT' && (!name.startsWith('HERALD_') || name === 'HERALD_TEST_RUN'),
    ),
  );
}

/** Runs a command to its end; throws with its output when it fails. */
export function run(command: string, args: readonly string[], cwd: string): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

/** Runs a command to its end without blocking the test's event loop; resolves with its stdout. */
export function runAsync(command: string, args: readonly string[], cwd: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: cleanEnv(), timeout: timeoutMs });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(' ')} failed (${code ?? signal}):\n${out}\n${err}`));
    });
  });
}

/** `npm pack` of the workspaces `dirs` into `dest`. */
export function pack(dirs: readonly string[], dest: string): PackEntry[] {
  const args = ['pack', '--json', '--pack-destination', dest, ...dirs.flatMap((dir) => ['--workspace', dir])];
  return JSON.parse(run('npm', args, ROOT).stdout) as PackEntry[];
}

/** Every file under `dir`, as paths relative to it. */
export function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    return entry.isDirectory() ? filesUnder(dir, path) : [path];
  });
}

/** Packages under `nodeModules` (scoped ones included) whose install runs a script: name → script. */
export function installScripts(nodeModules: string): Map<string, string> {
  const dirs = readdirSync(nodeModules)
    .filter((name) => !name.startsWith('.'))
    .flatMap((name) => (name.startsWith('@') ? readdirSync(join(nodeModules, name)).map((inner) => `${name}/${inner}`) : [name]));
  const found = new Map<string, string>();
  for (const dir of dirs) {
    const pkg = readPackageJson(join(nodeModules, dir));
    const script = pkg.scripts?.preinstall ?? pkg.scripts?.install ?? pkg.scripts?.postinstall;
    // npm runs `node-gyp rebuild` for a package with a binding.gyp and no install script.
    if (script !== undefined) found.set(pkg.name, script);
    else if (existsSync(join(nodeModules, dir, 'binding.gyp'))) found.set(pkg.name, 'node-gyp rebuild');
  }
  return found;
}

const BUILTINS = new Set(builtinModules);

/** The package names a module imports (static, dynamic, `require`), Node's built-ins left out. */
export function importedPackages(source: string): Set<string> {
  const names = new Set<string>();
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire(?:\.resolve)?\s*\(\s*)['"]([\w@./:-]+)['"]/g;
  for (const [, specifier] of source.matchAll(pattern)) {
    if (specifier === undefined || specifier.startsWith('.') || specifier.startsWith('node:') || BUILTINS.has(specifier)) continue;
    const parts = specifier.split('/');
    names.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
  }
  return names;
}

/** The files a package's `exports` and `bin` name (conditions flattened). */
export function entryFiles(pkg: PackageJson): string[] {
  const targets = Object.values(pkg.exports ?? {}).flatMap((target) => (typeof target === 'string' ? [target] : Object.values(target)));
  return [...targets, ...Object.values(pkg.bin ?? {})];
}

/** Whether `path` is a file. */
export const isFile = (path: string): boolean => existsSync(path) && statSync(path).isFile();
