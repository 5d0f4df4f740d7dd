import { describe, expect, it } from 'vitest';
import { readDocExamples, shellWords } from './doc-examples.js';
import { compareShape, parseShape } from './doc-shape.js';

const compare = (documented: string, actual: unknown): string[] => compareShape(parseShape(documented).shape, actual);

describe('documented answers (doc-shape.ts)', () => {
  it('match an answer with the same members and types, whatever the volatile values', () => {
    expect(compare('{"channel":"news","epoch":"UUMdYV3wsrHj","offset":1}', { channel: 'news', epoch: 'x', offset: 9 })).toEqual([]);
  });

  it('name a missing member, an undocumented one and a changed type', () => {
    expect(compare('{"channel":"news","offset":1}', { channel: 'news', offset: '1', more: true })).toEqual([
      '$.offset: documented number 1, got string "1"',
      '$.more: in the answer (true), not documented',
    ]);
    expect(compare('{"channel":"news","epoch":…}', { channel: 'news' })).toEqual([
      '$.epoch: documented (anything), missing from the answer',
    ]);
  });

  it('compare stable members by value: codes, error messages, channels', () => {
    expect(
      compare('{"error":{"code":2001,"message":"publish on news:world is not allowed"}}', { error: { code: 2000, message: 'no' } }),
    ).toEqual(['$.error.code: documented 2001, got 2000', '$.error.message: documented "publish on news:world is not allowed", got "no"']);
    expect(compare('{"channel":"news"}', { channel: 'sport' })).toEqual(['$.channel: documented "news", got "sport"']);
  });

  it('read … as any value, as more members, and as more elements', () => {
    expect(compare('{"epoch":"…","time":…,"messages":[…]}', { epoch: 'e', time: 5, messages: [1, 2] })).toEqual([]);
    expect(
      compare('{"type":"message","offset":1,…,"data":{"text":"hi"}}', { type: 'message', offset: 1, epoch: 'e', data: { text: 'hi' } }),
    ).toEqual([]);
    expect(parseShape('{"channel":"demo","offset":1}; the poll on 3002 answers').rest).toBe('; the poll on 3002 answers');
  });

  it('need a non-empty array where the docs show elements, each fitting one of them', () => {
    const documented = '{"results":[{"channel":"news","offset":1},{"index":1,"error":{"code":1003,"message":"bad"}}]}';
    expect(compare(documented, { results: [] })).toEqual(['$.results: documented 2 element(s), got an empty array']);
    expect(compare(documented, { results: [{ channel: 'news', offset: 2 }] })).toEqual([]);
    expect(compare(documented, { results: [{ channel: 'news', offset: 2, duplicate: true }] })).toEqual([
      '$.results[0].duplicate: in the answer (true), not documented',
    ]);
    expect(compare('{"members":[]}', { members: [{ client: 'a', user: null }] })).toEqual([]);
  });

  it('refuse text that is not documented JSON, naming where', () => {
    expect(() => parseShape('{"a":}')).toThrow(/a value expected at offset 5/);
  });
});

describe('examples in Markdown (doc-examples.ts)', () => {
  const markdown = [
    'Text.',
    '',
    '```sh',
    '# publish',
    'curl -X POST localhost:3000/api/publish -H "X-Herald-Key: $KEY" \\',
    '  -d \'{"channel":"a","data":1}\'',
    '# → {"channel":"a","epoch":"…","offset":1}',
    '```',
    '',
    '<!-- docs-test: before curl -X POST localhost:3000/api/publish -d x -->',
    '```',
    "$ curl -i 'localhost:3000/api/messages?channel=a'   # dev profile",
    'HTTP/1.1 200 OK',
    'Cache-Control: no-store',
    '',
    '{"messages":[]}',
    "$ curl -X POST https://shop.example/api/publish -d '{}'",
    '```',
    '',
    '<!-- docs-test: skip needs two nodes -->',
    '  ```',
    '  curl localhost:3001/x | jq .',
    '  ```',
  ].join('\n');

  it('read each command, its answer, profile, setup and skip reason', () => {
    const { examples } = readDocExamples('x.md', markdown);
    expect(
      examples.map(({ line, profile, skip, unsupported, before, answer }) => ({ line, profile, skip, unsupported, before, answer })),
    ).toEqual([
      {
        line: 5,
        profile: 'production',
        skip: undefined,
        unsupported: undefined,
        before: [],
        answer: { headers: [], body: '{"channel":"a","epoch":"…","offset":1}' },
      },
      {
        line: 12,
        profile: 'dev',
        skip: undefined,
        unsupported: undefined,
        before: ['curl -X POST localhost:3000/api/publish -d x'],
        answer: { status: 200, headers: [['Cache-Control', 'no-store']], body: '{"messages":[]}' },
      },
      {
        line: 17,
        profile: 'dev',
        skip: undefined,
        unsupported: 'requests https://shop.example/api/publish, not the hub at localhost:3000',
        before: ['curl -X POST localhost:3000/api/publish -d x'],
        answer: { headers: [] },
      },
      {
        line: 22,
        profile: 'dev',
        skip: 'needs two nodes',
        unsupported: 'is not one plain curl command (|, &, ; or && in it)',
        before: [],
        answer: { headers: [] },
      },
    ]);
    expect(examples[0]!.command).toBe(
      'curl -X POST localhost:3000/api/publish -H "X-Herald-Key: $KEY" \\\n  -d \'{"channel":"a","data":1}\'',
    );
  });

  it('refuse an unknown directive and one that no code block follows', () => {
    expect(() => readDocExamples('x.md', '<!-- docs-test: prod -->\n```\n```')).toThrow('x.md:1: unknown docs-test directive "prod"');
    expect(() => readDocExamples('x.md', '<!-- docs-test: dev -->\nText.\n```\n```')).toThrow(
      'x.md:1: a docs-test directive must be followed',
    );
  });

  it('split shell words as bash does for these examples', () => {
    expect(shellWords(`curl -H "X-Herald-Key: $KEY" 'a b'c \\\n -d x   # a comment`)).toEqual([
      'curl',
      '-H',
      'X-Herald-Key: $KEY',
      'a bc',
      '-d',
      'x',
    ]);
    expect(shellWords('curl x & curl y | jq')).toEqual(['curl', 'x', '&', 'curl', 'y', '|', 'jq']);
  });
});
