import { describe, expect, it } from 'vitest';
import { compileTemplate, TopicSelector } from './topic-selector.js';

describe('TopicSelector', () => {
  const table: [selector: string, topic: string, matches: boolean][] = [
    ['*', 'https://example.com/anything', true],
    ['*', 'plain', true],
    ['https://example.com/books/1', 'https://example.com/books/1', true],
    ['https://example.com/books/1', 'https://example.com/books/10', false],
    ['https://example.com/books/{id}', 'https://example.com/books/1', true],
    ['https://example.com/books/{id}', 'https://example.com/books/a%20b', true],
    ['https://example.com/books/{id}', 'https://example.com/books/1/reviews', false],
    ['https://example.com/books/{id}', 'https://example.com/books/', true],
    ['https://example.com/books/{id}', 'https://example.com/authors/1', false],
    // A template also matches itself (selectors can be compared).
    ['https://example.com/books/{id}', 'https://example.com/books/{id}', true],
    ['https://example.com/{+path}', 'https://example.com/a/b/c?d=e', true],
    ['https://example.com/users/foo/{?topic}', 'https://example.com/users/foo/?topic=https%3A%2F%2Fexample.com%2Fbooks%2F1', true],
    ['https://example.com/users/foo/{?topic}', 'https://example.com/users/foo/', true],
    ['https://example.com/users/foo/{?topic}', 'https://example.com/users/bar/?topic=x', false],
    ['/.well-known/mercure/subscriptions{/topic}{/subscriber}', '/.well-known/mercure/subscriptions/a%2Fb/urn%3Auuid%3A1', true],
    ['/.well-known/mercure/subscriptions{/topic}{/subscriber}', '/.well-known/mercure/subscriptions', true],
    ['https://example.com/books{.format}', 'https://example.com/books.json', true],
    ['https://example.com/books{#section}', 'https://example.com/books#top', true],
    ['https://example.com/{a}{b}', 'https://example.com/xy', true],
    ['https://example.com/books/{id}.json', 'https://example.com/books/1.json', true],
    ['https://example.com/books/{id}.json', 'https://example.com/books/1.xml', false],
    ['https://example.com/grants/42{?topic}', 'https://example.com/grants/42?topic=https%3A%2F%2Fexample.com%2Fa', true],
    // A literal ends the expression before it at its first occurrence (documented limit).
    ['{+a}/{b}', 'x/y/z', false],
    ['{+a}/{b}', 'x/y', true],
    ['{', '{', true],
    ['{', 'x', false],
    ['a{b', 'ab', false],
    ['a.b', 'axb', false],
  ];
  it.each(table)('%s matches %s: %s', (selector, topic, matches) => {
    expect(new TopicSelector(selector).matches(topic)).toBe(matches);
  });

  it('tells exact selectors from templates', () => {
    expect(new TopicSelector('https://example.com/books/1').exact).toBe(true);
    expect(new TopicSelector('unbalanced{').exact).toBe(true);
    expect(new TopicSelector('https://example.com/{id}').exact).toBe(false);
    expect(new TopicSelector('*').exact).toBe(false);
    expect(compileTemplate('{bad name}')).toBeUndefined();
    expect(compileTemplate('a}b{c}')).toBeUndefined();
  });

  it('matches a long hostile topic in linear time', () => {
    const started = performance.now();
    expect(new TopicSelector('{.a}{.b}{.c}!').matches('.'.repeat(100_000) + 'x')).toBe(false);
    expect(new TopicSelector('{a}x{b}x{c}!').matches('x'.repeat(100_000) + 'y')).toBe(false);
    expect(new TopicSelector('{/a}{.b}{+c}!').matches('/.'.repeat(50_000))).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
