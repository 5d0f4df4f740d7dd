import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from './json-depth.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Nesting depth of a parsed value: 0 for a scalar, 1 + the deepest child for an array or object. */
function depthOf(value: Json): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (value !== null && typeof value === 'object') return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  return 0;
}

/** Strings made to confuse a scanner: brackets, quotes, backslashes, and what JSON escapes them to. */
const trickyString = fc.string({
  unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', '\\"', '"]', '\\\\', ',', ':', 'a', ' ', '\n', '\u0000', 'é', '😀'),
  maxLength: 12,
});

const jsonArb: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    trickyString,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(trickyString, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** A chain of `depth` nested arrays or objects around a tricky string. */
const deepArb = fc
  .tuple(fc.integer({ min: 0, max: 150 }), fc.array(fc.boolean(), { minLength: 150, maxLength: 150 }), trickyString)
  .map(([depth, kinds, leaf]) => {
    let value: Json = leaf;
    for (let i = 0; i < depth; i++) value = kinds[i] === true ? [value, leaf] : { [leaf]: value };
    return value;
  });

/** JSON text with every string character written as a \uXXXX escape (what JSON.stringify never does). */
function stringifyEscaped(value: Json): string {
  if (typeof value === 'string')
    return `"${Array.from({ length: value.length }, (_, i) => `\\u${value.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')}"`;
  if (Array.isArray(value)) return `[${value.map(stringifyEscaped).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.entries(value)
      .map(([k, v]) => `${stringifyEscaped(k)}:${stringifyEscaped(v)}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

describe('exceedsJsonDepth', () => {
  it('agrees with the depth of the parsed value, for any JSON with tricky strings', () => {
    fc.assert(
      fc.property(fc.oneof(jsonArb, deepArb), fc.integer({ min: 0, max: 160 }), fc.constantFrom(0, 2), (value, max, indent) => {
        const depth = depthOf(value);
        const text = JSON.stringify(value, null, indent);
        expect(exceedsJsonDepth(text, max)).toBe(depth > max);
        expect(exceedsJsonDepth(text, depth)).toBe(false);
        if (depth > 0) expect(exceedsJsonDepth(text, depth - 1)).toBe(true);
        expect(exceedsJsonDepth(text)).toBe(depth > MAX_JSON_DEPTH);
      }),
    );
  });

  it('agrees with the depth when every string character is a \\u escape', () => {
    fc.assert(
      fc.property(fc.oneof(jsonArb, deepArb), fc.integer({ min: 0, max: 160 }), (value, max) => {
        const text = stringifyEscaped(value);
        expect(JSON.parse(text)).toEqual(value);
        expect(exceedsJsonDepth(text, max)).toBe(depthOf(value) > max);
      }),
    );
  });

  it('defaults to MAX_JSON_DEPTH = 64', () => {
    expect(MAX_JSON_DEPTH).toBe(64);
    expect(exceedsJsonDepth(`${'['.repeat(64)}${']'.repeat(64)}`)).toBe(false);
    expect(exceedsJsonDepth(`${'['.repeat(65)}${']'.repeat(65)}`)).toBe(true);
    expect(exceedsJsonDepth(`${'{"a":'.repeat(64)}1${'}'.repeat(64)}`)).toBe(false);
    expect(exceedsJsonDepth(`${'{"a":'.repeat(65)}1${'}'.repeat(65)}`)).toBe(true);
  });

  it('counts siblings once, not cumulatively', () => {
    expect(exceedsJsonDepth('[[1],[2],[3],[4]]', 2)).toBe(false);
    expect(exceedsJsonDepth(JSON.stringify(Array.from({ length: 1000 }, () => [[[]]])), 4)).toBe(false);
  });

  it('ignores brackets inside strings, including after escaped quotes and backslashes', () => {
    expect(exceedsJsonDepth(JSON.stringify({ a: '[[[[[[[[[[' }), 1)).toBe(false);
    expect(exceedsJsonDepth(JSON.stringify(['\\', '[[[["\\"']), 1)).toBe(false);
    expect(exceedsJsonDepth(JSON.stringify(['\\"', [['x']]]), 2)).toBe(true);
    expect(exceedsJsonDepth('"\\\\"[[[', 2)).toBe(true);
  });

  it('treats scalars as depth 0', () => {
    for (const text of ['1', '"[["', 'null', 'true', '']) expect(exceedsJsonDepth(text, 0)).toBe(false);
    expect(exceedsJsonDepth('[]', 0)).toBe(true);
    expect(exceedsJsonDepth('{}', 0)).toBe(true);
  });

  it('rejects 100,000-deep text in one fast pass, without throwing', () => {
    const arrays = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const objects = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const unclosed = '['.repeat(100_000);
    const started = performance.now();
    expect(exceedsJsonDepth(arrays)).toBe(true);
    expect(exceedsJsonDepth(objects)).toBe(true);
    expect(exceedsJsonDepth(unclosed)).toBe(true);
    // Generous bound: a linear scan takes about a millisecond; a recursive parse would be far slower or throw.
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('never throws for any text', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', '\\') })),
        fc.integer({ min: -5, max: 100 }),
        (text, max) => {
          expect(typeof exceedsJsonDepth(text, max)).toBe('boolean');
        },
      ),
    );
  });
});
