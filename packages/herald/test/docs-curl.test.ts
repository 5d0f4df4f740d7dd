/**
 * Every `curl` example of README.md and docs/*.md, run with the real curl against a live hub (the
 * built CLI, `herald start --port 0`), so a documented status, header or answer cannot drift from
 * the code. Conventions (also in docs/architecture.md, "Docs that are tested"):
 *
 * - An example is a line of a fenced code block that calls `curl`, with `$ ` before it or not,
 *   plus its `\` continuation lines.
 * - Its documented answer: after `$ curl …`, the lines up to the next `$ ` (an `HTTP/1.1 <status>`
 *   line and headers first when shown); after a bare `curl …`, the `# → …` lines right below it.
 *   `#` lines are comments. A JSON answer is compared by shape (`doc-shape.ts`: the same members,
 *   types, arrays empty or not; exact values only for codes, types, channels and similar stable
 *   members; `…` elides); a text answer line by line with numbers and `…` as wildcards; shown
 *   headers by value, except volatile ones (`Content-Length`, `Date`, `Retry-After`). No status
 *   shown: 2xx is expected, or ≥ 400 when the answer shown is `{"error": …}`.
 * - The profile: a `<!-- docs-test: dev -->` or `<!-- docs-test: production -->` comment right
 *   before the block; else the example's trailing comment (`# production hub`, `# dev profile`);
 *   else production when it sends `X-Herald-Key` or `Authorization`; else dev. The production hub
 *   runs the block marked `<!-- docs-test: production-config -->` (the minimal secure
 *   configuration of docs/operations.md).
 * - The hub: `localhost:3000` and `127.0.0.1:3000` are replaced by the test hub's address; `$KEY`
 *   and `$HERALD_API_KEY` hold its API key, `$TOKEN` a token of user `alice` signed with its
 *   secret. Each file gets its own hub per profile, and its examples run in document order, so
 *   an example sees what the ones above it published. A cursor (`c1.…`) in a request is moved onto
 *   the live channel's epoch, its offsets kept.
 * - `<!-- docs-test: before <shell command> -->` runs the command once before the block's first
 *   example (the same replacements apply), to create the state the example shows.
 * - `<!-- docs-test: skip <reason> -->` skips every example of the block, reported with its reason
 *   (an embedded hub, several nodes on Redis, a request held until another one arrives). An
 *   example that is neither run nor skipped with a reason, or that cannot be run as written
 *   (another host, a pipe, `&`), fails.
 * - SSE (`/events`): the stream is read for 2 s, then its status and headers are checked.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeCursor, parseCursor } from '@herald/protocol';
import { SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { killAll, startCliHub, tempDir, writeConfig, type CliHub } from './cli-process.js';
import { DOC_HUB, readDocExamples, type DocAnswer, type DocExample, type Profile } from './doc-examples.js';
import { compareShape, parseShape } from './doc-shape.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FILES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
];

const examples: DocExample[] = [];
const configs: { file: string; line: number; text: string }[] = [];
for (const file of FILES) {
  const read = readDocExamples(file, readFileSync(join(ROOT, file), 'utf8'));
  examples.push(...read.examples);
  configs.push(...read.configs);
}

/** The production hub's configuration: the docs' own. */
const CONFIG = ((): { auth: { secret: string }; apiKeys: string[] } => {
  if (configs.length !== 1) throw new Error(`expected one docs-test: production-config block, found ${configs.length}`);
  return JSON.parse(configs[0]!.text) as { auth: { secret: string }; apiKeys: string[] };
})();

/** Headers whose value changes from run to run: only their presence is checked. */
const VOLATILE_HEADERS: ReadonlySet<string> = new Set(['content-length', 'date', 'retry-after', 'etag', 'last-modified', 'keep-alive']);

const hubs = new Map<string, Promise<CliHub>>();
const hubFor = (file: string, profile: Profile): Promise<CliHub> => {
  const key = `${file} ${profile}`;
  let hub = hubs.get(key);
  if (hub === undefined) {
    hub = startCliHub(profile === 'production' ? ['--config', writeConfig(CONFIG)] : []);
    hubs.set(key, hub);
  }
  return hub;
};

let token: Promise<string> | undefined;
const tokenOf = (): Promise<string> =>
  (token ??= new SignJWT({ channels: ['room:42'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('alice')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(CONFIG.auth.secret)));

/** What curl received. */
interface Received {
  readonly exit: number;
  readonly stderr: string;
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

/** Runs `script` with bash, `curl` being the real curl plus `extra` options. */
async function runShell(script: string, hub: CliHub, profile: Profile, extra: string): Promise<{ exit: number; stderr: string }> {
  const env = {
    ...process.env,
    KEY: CONFIG.apiKeys[0]!,
    HERALD_API_KEY: CONFIG.apiKeys[0]!,
    TOKEN: profile === 'production' ? await tokenOf() : '',
  };
  const text = await moveCursors(script.replace(DOC_HUB, hub.url), hub, profile);
  return new Promise((resolve) => {
    execFile('bash', ['-c', `curl() { command curl "$@" ${extra}; }\n${text}`], { env, timeout: 30_000 }, (error, _stdout, stderr) =>
      resolve({ exit: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stderr }),
    );
  });
}

/** Replaces every cursor of `text` by the same positions on the live hub's epochs. */
async function moveCursors(text: string, hub: CliHub, profile: Profile): Promise<string> {
  let moved = text;
  for (const cursor of new Set(text.match(/\bc1\.[A-Za-z0-9_-]+/g) ?? [])) {
    const parsed = parseCursor(cursor);
    if (!parsed.ok) continue;
    const live = new Map<string, { epoch: string; offset: number }>();
    for (const [channel, position] of parsed.value) {
      const res = await fetch(`${hub.url}/api/messages?channel=${encodeURIComponent(channel)}&since=now`, {
        headers: profile === 'production' ? { 'X-Herald-Key': CONFIG.apiKeys[0]! } : {},
      });
      const now = parseCursor(((await res.json()) as { cursor: string }).cursor);
      if (!now.ok) throw new Error(`no cursor for ${channel} from the live hub`);
      live.set(channel, { epoch: now.value.get(channel)!.epoch, offset: position.offset });
    }
    moved = moved.split(cursor).join(encodeCursor(live));
  }
  return moved;
}

async function runExample(example: DocExample, hub: CliHub): Promise<Received> {
  const dir = tempDir();
  const [headerFile, bodyFile] = [join(dir, 'headers'), join(dir, 'body')];
  const stream = /\/events\b/.test(example.command);
  const { exit, stderr } = await runShell(
    example.command,
    hub,
    example.profile,
    `--no-include --silent --show-error --max-time ${stream ? 2 : 15} --dump-header '${headerFile}' --output '${bodyFile}'`,
  );
  const heads = readIfThere(headerFile)
    .split(/\r?\n\r?\n/)
    .filter((head) => head.startsWith('HTTP/'));
  const [statusLine = '', ...lines] = (heads.at(-1) ?? '').split(/\r?\n/);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  // curl gives up on a stream at --max-time (exit 28): that is how a stream example ends.
  const ended = stream && exit === 28 && (headers.get('content-type') ?? '').startsWith('text/event-stream') ? 0 : exit;
  return { exit: ended, stderr, status: Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body: readIfThere(bodyFile) };
}

/** A file curl wrote, or `''` when it wrote none (no answer before --max-time). */
const readIfThere = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');

/** Differences between what the docs show and what the hub answered, one line each. */
function differences(answer: DocAnswer, got: Received): string[] {
  const found: string[] = [];
  if (got.exit !== 0) return [`curl exited with ${got.exit}: ${got.stderr.trim()}`];
  const body = answer.body?.trim() ?? '';
  const json = body.startsWith('{') || body.startsWith('[') ? parseShape(body).shape : undefined;
  const isError = json?.kind === 'object' && json.members.has('error');
  if (answer.status !== undefined) {
    if (got.status !== answer.status) found.push(`status: documented ${answer.status}, got ${got.status}`);
  } else if (isError ? got.status < 400 : got.status < 200 || got.status > 299)
    found.push(`status: documented ${isError ? 'an error (≥ 400)' : 'success (2xx)'}, got ${got.status}`);
  for (const [name, value] of answer.headers) {
    const actual = got.headers.get(name.toLowerCase());
    if (actual === undefined) found.push(`header ${name}: documented, missing from the answer`);
    else if (!VOLATILE_HEADERS.has(name.toLowerCase()) && actual !== value)
      found.push(`header ${name}: documented ${JSON.stringify(value)}, got ${JSON.stringify(actual)}`);
  }
  if (json !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(got.body);
    } catch {
      return [...found, `body: documented JSON, got ${JSON.stringify(got.body.slice(0, 200))}`];
    }
    found.push(...compareShape(json, parsed).map((line) => `body ${line}`));
  } else if (body !== '') {
    const lines = got.body.split('\n');
    for (const line of body.split('\n').filter((l) => l.trim() !== '')) {
      const pattern = new RegExp(
        `^${line
          .trim()
          .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
          .replace(/\d+/g, '\\d+')
          .replace(/…/g, '.*')}$`,
      );
      if (!lines.some((l) => pattern.test(l.trim()))) found.push(`body: documented line ${JSON.stringify(line)} not in the answer`);
    }
  }
  return found;
}

const prepared = new Set<string>();

describe('the curl examples of the docs', () => {
  afterAll(killAll);

  const skipped = examples.filter((example) => example.skip !== undefined).length;
  // The counts are in the test's name, so every run reports them; the skipped ones are listed below.
  it(`are found: ${examples.length} in ${FILES.length} files, ${examples.length - skipped} run, ${skipped} skipped with a reason`, () => {
    expect(examples.length).toBeGreaterThan(0);
    for (const example of examples) if (example.skip !== undefined) expect(example.skip.trim()).not.toBe('');
  });

  for (const example of examples) {
    const name = `${example.file}:${example.line} (${example.profile}) ${example.command.split('\n')[0]!.slice(0, 100)}`;
    if (example.skip !== undefined) {
      it.skip(`${name} — skipped: ${example.skip}`, () => {});
      continue;
    }
    it(name, async () => {
      expect(example.unsupported, 'cannot run as written: add <!-- docs-test: skip <reason> --> or make it runnable').toBeUndefined();
      const hub = await hubFor(example.file, example.profile);
      const block = `${example.file} ${example.block} ${example.profile}`;
      if (!prepared.has(block)) {
        prepared.add(block);
        for (const command of example.before) {
          const setup = await runShell(command, hub, example.profile, '--silent --show-error --fail --max-time 15');
          expect(setup, `before ${command}`).toEqual({ exit: 0, stderr: '' });
        }
      }
      expect(differences(example.answer, await runExample(example, hub)).join('\n')).toBe('');
    });
  }
});
