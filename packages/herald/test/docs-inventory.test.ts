/**
 * Lists in the docs that must name everything the code has: every package and app in the README's
 * repository table, every `herald start` flag in the README's CLI line and in the operations.md
 * flag table (read from the built CLI's own `--help`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, runCli } from './cli-process.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const OPERATIONS = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8');

/** The text of `markdown` from the heading `heading` to the next heading of any level. */
function section(markdown: string, heading: string): string {
  const start = markdown.split('\n').findIndex((line) => line === heading);
  if (start === -1) throw new Error(`no heading ${JSON.stringify(heading)}`);
  const lines = markdown.split('\n').slice(start + 1);
  const end = lines.findIndex((line) => line.startsWith('#'));
  return lines.slice(0, end === -1 ? undefined : end).join('\n');
}

describe('the docs name everything the code has', () => {
  afterEach(killAll);

  it('the README repository table lists every package and app', () => {
    const table = section(README, '## Repository');
    const dirs = ['packages', 'apps'].flatMap((parent) =>
      readdirSync(join(ROOT, parent))
        .filter((name) => existsSync(join(ROOT, parent, name, 'package.json')))
        .map((name) => `${parent}/${name}`),
    );
    expect(dirs.length).toBeGreaterThan(0);
    expect(dirs.filter((dir) => !table.includes(`| \`${dir}\` |`))).toEqual([]);
  });

  it('the README CLI line and the operations.md table list every herald start flag', async () => {
    const help = await runCli(['start', '--help']);
    expect(help.status).toBe(0);
    const flags = [...new Set(help.stdout.match(/^ {2}(?:-\w, )?(--[a-z][a-z-]*)/gm) ?? [])]
      .map((line) => /--[a-z][a-z-]*/.exec(line)![0])
      .filter((flag) => flag !== '--help');
    expect(flags).toContain('--port');
    const line = /```\n(npx herald start [\s\S]*?)\nnpx herald --help/.exec(section(README, '## CLI'))?.[1] ?? '';
    expect(flags.filter((flag) => !line.includes(`[${flag}`))).toEqual([]);
    const table = section(OPERATIONS, '### `herald start`');
    expect(flags.filter((flag) => !table.includes(`${flag} `) && !table.includes(`${flag}\``))).toEqual([]);
  });
});
