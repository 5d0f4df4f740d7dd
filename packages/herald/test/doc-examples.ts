/**
 * The `curl` examples of the docs, read from their Markdown, for docs-curl.test.ts (which states the
 * conventions).
 */

/** A profile a hub runs in. */
export type Profile = 'dev' | 'production';

/** What the docs show after an example. */
export interface DocAnswer {
  /** From an `HTTP/1.1 <status>` line (`curl -i`); absent when the docs show no status. */
  readonly status?: number;
  /** The headers shown under the status line, as written. */
  readonly headers: readonly (readonly [string, string])[];
  /** The body shown (after the headers, or after `# →`), trimmed; absent when none is shown. */
  readonly body?: string;
}

/** One `curl` command of a fenced code block. */
export interface DocExample {
  /** Path relative to the repository root. */
  readonly file: string;
  /** 1-based line of the command in the file. */
  readonly line: number;
  /** The shell text, continuation lines included. */
  readonly command: string;
  readonly profile: Profile;
  /** Why the example is not run (a `skip` directive), when it is not. */
  readonly skip?: string;
  /** Why the example cannot be run as written, when it cannot: the test fails on it. */
  readonly unsupported?: string;
  /** Shell commands of the block's `before` directives, run once before the block's first example. */
  readonly before: readonly string[];
  /** Index of the block in its file: examples of one block share its `before`. */
  readonly block: number;
  readonly answer: DocAnswer;
}

/** A fenced block marked `production-config`: the configuration of the production hub. */
export interface DocConfig {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

/** A fenced block of the app docs-hooks.test.ts runs: `express-app` code or `express-config` JSON. */
export interface DocAppBlock extends DocConfig {
  readonly kind: 'express-app' | 'express-config';
}

const DIRECTIVE = /^\s*<!--\s*docs-test:\s*(.*?)\s*-->\s*$/;
const FENCE = /^(\s*)(`{3,}|~{3,})/;
const CURL = /(?:^|[\s;&|(`])curl\s/;

interface Directives {
  profile?: Profile;
  skip?: string;
  config: boolean;
  app?: DocAppBlock['kind'];
  before: string[];
}

/**
 * Reads every example of one Markdown file. Throws an `Error` naming the line for a directive the
 * test does not know or one that no code block follows.
 */
export function readDocExamples(
  file: string,
  markdown: string,
): { examples: DocExample[]; configs: DocConfig[]; appBlocks: DocAppBlock[] } {
  const lines = markdown.split('\n');
  const examples: DocExample[] = [];
  const configs: DocConfig[] = [];
  const appBlocks: DocAppBlock[] = [];
  let pending: Directives = { config: false, before: [] };
  let pendingLine = 0;
  let block = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const directive = DIRECTIVE.exec(line);
    if (directive !== null) {
      addDirective(pending, directive[1]!, `${file}:${i + 1}`);
      pendingLine ||= i + 1;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence === null) {
      if (line.trim() !== '' && pendingLine !== 0)
        throw new Error(`${file}:${pendingLine}: a docs-test directive must be followed by a fenced code block`);
      continue;
    }
    const [, indent = '', marker = ''] = fence;
    const start = i + 1;
    const closing = new RegExp(`^\\s*\\${marker[0]}{${marker.length},}\\s*$`);
    const body: string[] = [];
    for (i++; i < lines.length; i++) {
      const text = lines[i]!;
      if (closing.test(text)) break;
      body.push(text.startsWith(indent) ? text.slice(indent.length) : text.trimStart());
    }
    block++;
    if (pending.config) configs.push({ file, line: start, text: body.join('\n') });
    if (pending.app !== undefined) appBlocks.push({ kind: pending.app, file, line: start, text: body.join('\n') });
    examples.push(...blockExamples(file, start, block, body, pending));
    pending = { config: false, before: [] };
    pendingLine = 0;
  }
  if (pendingLine !== 0) throw new Error(`${file}:${pendingLine}: a docs-test directive must be followed by a fenced code block`);
  return { examples, configs, appBlocks };
}

function addDirective(into: Directives, text: string, where: string): void {
  const [word = '', ...rest] = text.split(/\s+/);
  const argument = rest.join(' ').trim();
  if ((word === 'dev' || word === 'production') && argument === '') into.profile = word;
  else if (word === 'production-config' && argument === '') into.config = true;
  else if ((word === 'express-app' || word === 'express-config') && argument === '') into.app = word;
  else if (word === 'skip' && argument !== '') into.skip = argument;
  else if (word === 'before' && argument !== '') into.before.push(argument);
  else
    throw new Error(
      `${where}: unknown docs-test directive ${JSON.stringify(text)} (dev, production, production-config, express-app, express-config, skip <reason>, before <command>)`,
    );
}

/** The examples of one fenced block (`first`: the file line of its first body line). */
function blockExamples(file: string, first: number, block: number, body: readonly string[], directives: Directives): DocExample[] {
  const examples: DocExample[] = [];
  for (let i = 0; i < body.length; i++) {
    const raw = body[i]!;
    const prompted = raw.startsWith('$ ');
    const text = prompted ? raw.slice(2) : raw;
    if (text.trimStart().startsWith('#') || !CURL.test(text)) continue;
    const line = first + 1 + i;
    let command = text;
    while (command.endsWith('\\') && i + 1 < body.length) command += `\n${body[++i]!}`;
    const output: string[] = [];
    if (prompted) {
      while (i + 1 < body.length && !body[i + 1]!.startsWith('$ ')) output.push(body[++i]!);
    } else {
      while (i + 1 < body.length && /^#\s*→/.test(body[i + 1]!)) output.push(body[++i]!.replace(/^#\s*→\s?/, ''));
    }
    const unsupported = unsupportedForm(command);
    examples.push({
      file,
      line,
      command,
      profile: directives.profile ?? profileOf(command),
      ...(directives.skip !== undefined && { skip: directives.skip }),
      ...(unsupported !== undefined && { unsupported }),
      before: directives.before,
      block,
      answer: parseAnswer(output.filter((l) => !/^\s*#/.test(l))),
    });
  }
  return examples;
}

/**
 * The profile an example names: its trailing comment (`# production hub`, `# dev profile`), else
 * production when it sends credentials (`X-Herald-Key`, `Authorization`), else dev.
 */
function profileOf(command: string): Profile {
  const comment = / #\s(.*)$/.exec(command)?.[1] ?? '';
  if (/\bproduction\b/i.test(comment)) return 'production';
  if (/\bdev\b/i.test(comment)) return 'dev';
  return /\b(?:X-Herald-Key|Authorization):/i.test(command) ? 'production' : 'dev';
}

function parseAnswer(lines: readonly string[]): DocAnswer {
  const status = /^HTTP\/[\d.]+ (\d{3})\b/.exec(lines[0] ?? '');
  if (status === null) {
    const body = lines.join('\n').trim();
    return { headers: [], ...(body !== '' && { body }) };
  }
  const headers: [string, string][] = [];
  let i = 1;
  for (; i < lines.length && lines[i]!.trim() !== ''; i++) {
    const header = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(lines[i]!);
    if (header !== null) headers.push([header[1]!, header[2]!]);
  }
  const body = lines.slice(i).join('\n').trim();
  return { status: Number(status[1]), headers, ...(body !== '' && { body }) };
}

/** The hub the examples talk to, as the docs write it; the test replaces it with its own hub's. */
export const DOC_HUB = /(?:http:\/\/)?(?:localhost|127\.0\.0\.1):3000(?=[/'"\s]|$)/g;

/** Options of curl that take a value (the rest of the words are URLs). */
const VALUED = new Set([
  '-X',
  '--request',
  '-H',
  '--header',
  '-d',
  '--data',
  '--data-raw',
  '--data-binary',
  '--data-urlencode',
  '--json',
  '-o',
  '--output',
  '-w',
  '--write-out',
  '-u',
  '--user',
  '-b',
  '--cookie',
  '-A',
  '--user-agent',
  '-e',
  '--referer',
  '-F',
  '--form',
  '-m',
  '--max-time',
  '-T',
  '--upload-file',
  '--connect-timeout',
]);

/** Why the command cannot be run as the docs write it, or `undefined` when it can. */
function unsupportedForm(command: string): string | undefined {
  const words = shellWords(command);
  if (words[0] !== 'curl') return 'does not start with curl (a pipe, a subshell or a variable around it)';
  if (words.some((word) => ['|', '&', ';', '&&', '||'].includes(word))) return 'is not one plain curl command (|, &, ; or && in it)';
  const urls = words.slice(1).filter((word, index, rest) => !word.startsWith('-') && !VALUED.has(rest[index - 1] ?? ''));
  if (urls.length === 0) return 'names no URL';
  const foreign = urls.find((url) => !/^(?:http:\/\/)?(?:localhost|127\.0\.0\.1):3000(?:\/|$)/.test(url));
  return foreign === undefined ? undefined : `requests ${foreign}, not the hub at localhost:3000`;
}

/**
 * Splits a shell command into words as bash would for these examples: quotes, backslash-newline,
 * and a comment from an unquoted `#` at the start of a word. Variables are left as written.
 */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < command.length; i++) {
    const char = command[i]!;
    if (char === '\\' && command[i + 1] === '\n') {
      i++;
      continue;
    }
    if (/\s/.test(char)) {
      if (word !== undefined) words.push(word);
      word = undefined;
      continue;
    }
    if (char === '#' && word === undefined) break;
    if (char === "'" || char === '"') {
      const end = command.indexOf(char, i + 1);
      if (end === -1) throw new Error(`unbalanced ${char} in ${command}`);
      word = (word ?? '') + command.slice(i + 1, end);
      i = end;
      continue;
    }
    if ((char === '|' || char === '&' || char === ';') && word === undefined) {
      const double = command[i + 1] === char ? char : '';
      words.push(char + double);
      i += double.length;
      continue;
    }
    word = (word ?? '') + char;
  }
  if (word !== undefined) words.push(word);
  return words;
}
