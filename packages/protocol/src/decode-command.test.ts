import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Command, CommandId } from './commands.js';
import { encodeCursor, encodePosition, parseCursor } from './cursor.js';
import { decodeCommand, MAX_HISTORY_LIMIT, type DecodeResult } from './decode-command.js';
import { ErrorCode } from './error-codes.js';
import type { Position } from './position.js';

const CHANNEL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-:.@/=+,!~$'.split('');
const EPOCH_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'.split('');
const ERROR_CODES = new Set<number>(Object.values(ErrorCode));
const PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype);

const METHOD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:/-'.split('');
const methodArb = fc.string({ unit: fc.constantFrom(...METHOD_ALPHABET), minLength: 1, maxLength: 255 });
const channelArb = fc.string({ unit: fc.constantFrom(...CHANNEL_ALPHABET), minLength: 1, maxLength: 255 }).filter((c) => !c.includes('..'));
const positionArb: fc.Arbitrary<Position> = fc.record({
  epoch: fc.string({ unit: fc.constantFrom(...EPOCH_ALPHABET), minLength: 1, maxLength: 64 }),
  offset: fc.oneof(fc.nat(1000), fc.maxSafeNat()),
});
const idArb: fc.Arbitrary<CommandId> = fc.oneof(
  fc.maxSafeNat(),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 64 }).filter((s) => s.length <= 64),
);

/** Any valid command, as the decoder should return it (its canonical form). */
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ type: fc.constant('ping' as const), id: idArb }),
  fc.record({ type: fc.constantFrom('unsubscribe' as const, 'presence' as const), id: idArb, channel: channelArb }),
  fc.record({ type: fc.constant('publish' as const), id: idArb, channel: channelArb, data: fc.jsonValue() }),
  fc.record({ type: fc.constant('rpc' as const), id: idArb, method: methodArb, data: fc.jsonValue() }),
  fc.record(
    {
      type: fc.constant('subscribe' as const),
      id: idArb,
      channel: channelArb,
      since: fc.oneof(
        positionArb,
        positionArb.map((p) => encodePosition('x', p)),
      ),
      joinLeave: fc.constant(true),
    },
    { requiredKeys: ['type', 'id', 'channel'] },
  ),
  fc.record(
    {
      type: fc.constant('history' as const),
      id: idArb,
      channel: channelArb,
      since: fc.oneof(
        positionArb,
        positionArb.map((p) => encodePosition('x', p)),
      ),
      limit: fc.integer({ min: 1, max: MAX_HISTORY_LIMIT }),
    },
    { requiredKeys: ['type', 'id', 'channel'] },
  ),
);

const frame = (value: unknown): string => JSON.stringify(value);

function expectError(result: DecodeResult, code: number, id: CommandId | null): void {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.error.code).toBe(code);
  expect(result.id).toBe(id);
  expect(typeof result.error.message).toBe('string');
  expect(result.error.message.length).toBeGreaterThan(0);
}

function expectWellFormed(result: DecodeResult): void {
  if (result.ok) {
    expect(typeof result.command.type).toBe('string');
    return;
  }
  expect(ERROR_CODES.has(result.error.code)).toBe(true);
  expect(result.id === null || typeof result.id === 'number' || typeof result.id === 'string').toBe(true);
  expect(typeof result.error.message).toBe('string');
}

describe('decodeCommand: valid commands', () => {
  it('decodes every valid command to itself, its since resolved to the position for its channel', () => {
    fc.assert(
      fc.property(commandArb, (command) => {
        // Compared with what JSON carries (JSON has no -0: it arrives as 0).
        const { since, ...rest } = JSON.parse(frame(command)) as Command & { since?: string | Position };
        const resolved = since === undefined ? undefined : typeof since === 'string' ? parseCursor(since) : undefined;
        const position =
          typeof since === 'object'
            ? since
            : resolved?.ok === true && 'channel' in command
              ? resolved.value.get(command.channel)
              : undefined;
        expect(decodeCommand(frame(command))).toEqual({ ok: true, command: position === undefined ? rest : { ...rest, since: position } });
      }),
    );
  });

  it("resolves a since cursor once: the entry for the command's channel, with its signature; none when the cursor does not cover it", () => {
    const cursor = encodeCursor(
      new Map([
        ['a', { epoch: 'e1', offset: 4, mac: 'sig_-1' }],
        ['b', { epoch: 'e2', offset: 9 }],
      ]),
    );
    expect(decodeCommand(frame({ id: 1, type: 'subscribe', channel: 'a', since: cursor }))).toEqual({
      ok: true,
      command: { type: 'subscribe', id: 1, channel: 'a', since: { epoch: 'e1', offset: 4, mac: 'sig_-1' } },
    });
    expect(decodeCommand(frame({ id: 2, type: 'history', channel: 'b', since: cursor }))).toEqual({
      ok: true,
      command: { type: 'history', id: 2, channel: 'b', since: { epoch: 'e2', offset: 9 } },
    });
    expect(decodeCommand(frame({ id: 3, type: 'subscribe', channel: 'c', since: cursor }))).toEqual({
      ok: true,
      command: { type: 'subscribe', id: 3, channel: 'c' },
    });
  });

  it('ignores unknown fields and whitespace', () => {
    expect(decodeCommand(' \n{ "id" : 1 , "type" : "ping", "extra": [1, {"x": 2}] }\t')).toEqual({
      ok: true,
      command: { type: 'ping', id: 1 },
    });
  });

  it('drops joinLeave false and a null since', () => {
    expect(decodeCommand(frame({ id: 1, type: 'subscribe', channel: 'a', joinLeave: false, since: null }))).toEqual({
      ok: true,
      command: { type: 'subscribe', id: 1, channel: 'a' },
    });
  });

  it('copies only epoch and offset of a since position', () => {
    expect(decodeCommand(frame({ id: 1, type: 'history', channel: 'a', since: { epoch: 'e', offset: 2, x: 1 } }))).toEqual({
      ok: true,
      command: { type: 'history', id: 1, channel: 'a', since: { epoch: 'e', offset: 2 } },
    });
  });

  it('accepts the id limits: 0, MAX_SAFE_INTEGER, 1 and 64 characters', () => {
    for (const id of [0, Number.MAX_SAFE_INTEGER, 'x', 'x'.repeat(64)]) {
      expect(decodeCommand(frame({ id, type: 'ping' }))).toEqual({ ok: true, command: { type: 'ping', id } });
    }
  });

  it('accepts data of any JSON type, including null and false', () => {
    for (const data of [null, false, 0, '', [], {}]) {
      expect(decodeCommand(frame({ id: 1, type: 'publish', channel: 'a', data }))).toEqual({
        ok: true,
        command: { type: 'publish', id: 1, channel: 'a', data },
      });
    }
  });

  it('decodes an rpc without data as data null, and keeps data of any JSON type', () => {
    expect(decodeCommand(frame({ id: 1, type: 'rpc', method: 'billing:charge' }))).toEqual({
      ok: true,
      command: { type: 'rpc', id: 1, method: 'billing:charge', data: null },
    });
    for (const data of [null, false, 0, '', [], {}, { a: [1, 'x'] }]) {
      expect(decodeCommand(frame({ id: 'r', type: 'rpc', method: 'a/b.c-d_e:f', data }))).toEqual({
        ok: true,
        command: { type: 'rpc', id: 'r', method: 'a/b.c-d_e:f', data },
      });
    }
  });

  it('accepts rpc method names of exactly 1 and 255 characters', () => {
    for (const method of ['x', 'm'.repeat(255)]) {
      expect(decodeCommand(frame({ id: 2, type: 'rpc', method }))).toEqual({
        ok: true,
        command: { type: 'rpc', id: 2, method, data: null },
      });
    }
  });

  it('accepts JSON exactly MAX_JSON_DEPTH deep', () => {
    const data = JSON.parse(`${'['.repeat(63)}${']'.repeat(63)}`);
    expect(decodeCommand(frame({ id: 1, type: 'publish', channel: 'a', data })).ok).toBe(true);
  });
});

describe('decodeCommand: exact error codes', () => {
  const ID = 7;
  const cases: [string, string, number, CommandId | null][] = [
    // 1000: not JSON
    ['empty text', '', ErrorCode.InvalidJson, null],
    ['plain text', 'hello', ErrorCode.InvalidJson, null],
    ['truncated JSON', '{"id":1,"type":"ping"', ErrorCode.InvalidJson, null],
    ['single quotes', "{'id':1,'type':'ping'}", ErrorCode.InvalidJson, null],
    ['trailing comma', '{"id":1,"type":"ping",}', ErrorCode.InvalidJson, null],
    ['two objects', '{"id":1,"type":"ping"}{"id":2,"type":"ping"}', ErrorCode.InvalidJson, null],
    ['NaN', '{"id":NaN,"type":"ping"}', ErrorCode.InvalidJson, null],
    ['a BOM', '\ufeff{"id":1,"type":"ping"}', ErrorCode.InvalidJson, null],
    [
      '65 levels of nesting',
      frame({ id: 1, type: 'publish', channel: 'a', data: JSON.parse(`${'['.repeat(64)}${']'.repeat(64)}`) }),
      ErrorCode.InvalidJson,
      null,
    ],
    // 1001: not a command object, or no readable id
    ['a number', '42', ErrorCode.InvalidFrame, null],
    ['a string', '"ping"', ErrorCode.InvalidFrame, null],
    ['null', 'null', ErrorCode.InvalidFrame, null],
    ['true', 'true', ErrorCode.InvalidFrame, null],
    ['an array', '[{"id":1,"type":"ping"}]', ErrorCode.InvalidFrame, null],
    ['no id', frame({ type: 'ping' }), ErrorCode.InvalidFrame, null],
    ['a null id', frame({ id: null, type: 'ping' }), ErrorCode.InvalidFrame, null],
    ['a negative id', frame({ id: -1, type: 'ping' }), ErrorCode.InvalidFrame, null],
    ['a fractional id', frame({ id: 1.5, type: 'ping' }), ErrorCode.InvalidFrame, null],
    ['an unsafe id', frame({ id: 2 ** 53, type: 'ping' }), ErrorCode.InvalidFrame, null],
    ['a boolean id', frame({ id: true, type: 'ping' }), ErrorCode.InvalidFrame, null],
    ['an object id', frame({ id: { n: 1 }, type: 'ping' }), ErrorCode.InvalidFrame, null],
    ['an array id', frame({ id: [1], type: 'ping' }), ErrorCode.InvalidFrame, null],
    ['an empty id', frame({ id: '', type: 'ping' }), ErrorCode.InvalidFrame, null],
    ['a 65-character id', frame({ id: 'x'.repeat(65), type: 'ping' }), ErrorCode.InvalidFrame, null],
    ['no type', frame({ id: ID }), ErrorCode.InvalidFrame, ID],
    ['a numeric type', frame({ id: ID, type: 1 }), ErrorCode.InvalidFrame, ID],
    ['a null type', frame({ id: ID, type: null }), ErrorCode.InvalidFrame, ID],
    ['an array type', frame({ id: ID, type: ['ping'] }), ErrorCode.InvalidFrame, ID],
    // 1002: unknown command
    ['an unknown type', frame({ id: ID, type: 'explode' }), ErrorCode.UnknownCommand, ID],
    ['an empty type', frame({ id: ID, type: '' }), ErrorCode.UnknownCommand, ID],
    ['a type in capitals', frame({ id: ID, type: 'PING' }), ErrorCode.UnknownCommand, ID],
    ['a type __proto__', frame({ id: ID, type: '__proto__' }), ErrorCode.UnknownCommand, ID],
    ['a type constructor', frame({ id: ID, type: 'constructor' }), ErrorCode.UnknownCommand, ID],
    ['a type toString', frame({ id: ID, type: 'toString' }), ErrorCode.UnknownCommand, ID],
    ['a string id is echoed', frame({ id: 'abc', type: 'nope' }), ErrorCode.UnknownCommand, 'abc'],
    // 1003: bad channel
    ['a missing channel', frame({ id: ID, type: 'subscribe' }), ErrorCode.InvalidChannel, ID],
    ['a numeric channel', frame({ id: ID, type: 'subscribe', channel: 1 }), ErrorCode.InvalidChannel, ID],
    ['a null channel', frame({ id: ID, type: 'publish', channel: null, data: 1 }), ErrorCode.InvalidChannel, ID],
    ['an array channel', frame({ id: ID, type: 'history', channel: ['a'] }), ErrorCode.InvalidChannel, ID],
    ['an empty channel', frame({ id: ID, type: 'subscribe', channel: '' }), ErrorCode.InvalidChannel, ID],
    ['a 256-character channel', frame({ id: ID, type: 'subscribe', channel: 'a'.repeat(256) }), ErrorCode.InvalidChannel, ID],
    ['a channel with NUL', frame({ id: ID, type: 'unsubscribe', channel: 'a\u0000b' }), ErrorCode.InvalidChannel, ID],
    ['a channel with a newline', frame({ id: ID, type: 'presence', channel: 'a\nb' }), ErrorCode.InvalidChannel, ID],
    ['a channel with a space', frame({ id: ID, type: 'publish', channel: 'a b', data: 1 }), ErrorCode.InvalidChannel, ID],
    ['a channel with *', frame({ id: ID, type: 'subscribe', channel: 'news.*' }), ErrorCode.InvalidChannel, ID],
    ['a channel with ..', frame({ id: ID, type: 'history', channel: 'a/../b' }), ErrorCode.InvalidChannel, ID],
    // 1004: bad since
    ['a numeric since', frame({ id: ID, type: 'subscribe', channel: 'a', since: 5 }), ErrorCode.InvalidCursor, ID],
    ['a garbage since', frame({ id: ID, type: 'subscribe', channel: 'a', since: 'garbage' }), ErrorCode.InvalidCursor, ID],
    ['an empty since', frame({ id: ID, type: 'history', channel: 'a', since: '' }), ErrorCode.InvalidCursor, ID],
    ['a boolean since', frame({ id: ID, type: 'history', channel: 'a', since: true }), ErrorCode.InvalidCursor, ID],
    ['an array since', frame({ id: ID, type: 'subscribe', channel: 'a', since: [] }), ErrorCode.InvalidCursor, ID],
    [
      'a since with a string offset',
      frame({ id: ID, type: 'subscribe', channel: 'a', since: { epoch: 'e', offset: '1' } }),
      ErrorCode.InvalidCursor,
      ID,
    ],
    [
      'a since with a negative offset',
      frame({ id: ID, type: 'history', channel: 'a', since: { epoch: 'e', offset: -1 } }),
      ErrorCode.InvalidCursor,
      ID,
    ],
    ['a since with no epoch', frame({ id: ID, type: 'history', channel: 'a', since: { offset: 1 } }), ErrorCode.InvalidCursor, ID],
    // 1005: bad field
    ['a string joinLeave', frame({ id: ID, type: 'subscribe', channel: 'a', joinLeave: 'yes' }), ErrorCode.InvalidField, ID],
    ['a numeric joinLeave', frame({ id: ID, type: 'subscribe', channel: 'a', joinLeave: 1 }), ErrorCode.InvalidField, ID],
    ['a null joinLeave', frame({ id: ID, type: 'subscribe', channel: 'a', joinLeave: null }), ErrorCode.InvalidField, ID],
    ['limit 0', frame({ id: ID, type: 'history', channel: 'a', limit: 0 }), ErrorCode.InvalidField, ID],
    ['a negative limit', frame({ id: ID, type: 'history', channel: 'a', limit: -1 }), ErrorCode.InvalidField, ID],
    ['a fractional limit', frame({ id: ID, type: 'history', channel: 'a', limit: 1.5 }), ErrorCode.InvalidField, ID],
    [
      'a limit over MAX_HISTORY_LIMIT',
      frame({ id: ID, type: 'history', channel: 'a', limit: MAX_HISTORY_LIMIT + 1 }),
      ErrorCode.InvalidField,
      ID,
    ],
    ['a string limit', frame({ id: ID, type: 'history', channel: 'a', limit: '10' }), ErrorCode.InvalidField, ID],
    ['a null limit', frame({ id: ID, type: 'history', channel: 'a', limit: null }), ErrorCode.InvalidField, ID],
    ['publish without data', frame({ id: ID, type: 'publish', channel: 'a' }), ErrorCode.InvalidField, ID],
    ['rpc without method', frame({ id: ID, type: 'rpc', data: 1 }), ErrorCode.InvalidField, ID],
    ['rpc with a null method', frame({ id: ID, type: 'rpc', method: null }), ErrorCode.InvalidField, ID],
    ['rpc with a numeric method', frame({ id: ID, type: 'rpc', method: 5 }), ErrorCode.InvalidField, ID],
    ['rpc with an empty method', frame({ id: ID, type: 'rpc', method: '' }), ErrorCode.InvalidField, ID],
    ['rpc with a 256-character method', frame({ id: ID, type: 'rpc', method: 'm'.repeat(256) }), ErrorCode.InvalidField, ID],
    ['rpc with a space in the method', frame({ id: ID, type: 'rpc', method: 'get user' }), ErrorCode.InvalidField, ID],
    ['rpc with @ in the method', frame({ id: ID, type: 'rpc', method: 'a@b' }), ErrorCode.InvalidField, ID],
    ['rpc with a newline in the method', frame({ id: ID, type: 'rpc', method: 'a\nb' }), ErrorCode.InvalidField, ID],
    ['rpc with a non-ASCII method', frame({ id: ID, type: 'rpc', method: 'caf\u00e9' }), ErrorCode.InvalidField, ID],
    ['rpc with an array method', frame({ id: ID, type: 'rpc', method: ['a'] }), ErrorCode.InvalidField, ID],
  ];

  it.each(cases)('%s', (_name, text, code, id) => {
    expectError(decodeCommand(text), code, id);
  });
});

describe('decodeCommand: never throws', () => {
  it('for any string', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.string({ unit: 'grapheme' }),
          fc.string({ unit: fc.constantFrom(...'{}[]":,\\ 01truefalsenull'.split('')) }),
        ),
        (text) => {
          expectWellFormed(decodeCommand(text));
        },
      ),
    );
  });

  it('for any JSON text, and reports non-objects as 1001', () => {
    fc.assert(
      fc.property(
        fc.anything({ withNullPrototype: true, withBoxedValues: true, withObjectString: true, withSparseArray: true }),
        (value) => {
          const text = JSON.stringify(value) ?? 'undefined';
          const result = decodeCommand(text);
          expectWellFormed(result);
          const parsed: unknown = text === 'undefined' ? undefined : JSON.parse(text);
          if (text === 'undefined') expectError(result, ErrorCode.InvalidJson, null);
          else if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
            expectError(result, ErrorCode.InvalidFrame, null);
        },
      ),
    );
  });

  it('for frames that look like commands with any field values, with or without a __proto__ key', () => {
    const commandType = fc.constantFrom('ping', 'subscribe', 'unsubscribe', 'publish', 'history', 'presence', 'rpc');
    const fieldValue = fc.oneof(fc.jsonValue(), fc.string({ unit: 'binary' }), positionArb, commandType);
    const frameArb = fc.record(
      {
        id: fc.oneof(idArb, fc.jsonValue()),
        type: fc.oneof(commandType, fc.jsonValue()),
        channel: fc.oneof(channelArb, fieldValue),
        since: fieldValue,
        joinLeave: fieldValue,
        limit: fc.oneof(fc.integer(), fieldValue),
        method: fc.oneof(methodArb, fieldValue),
        data: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(frameArb, fc.option(fieldValue), (value, proto) => {
        const body = JSON.stringify(value);
        // A literal "__proto__" key in the text: JSON.parse makes it an own property.
        const text = proto === null ? body : `{"__proto__":${JSON.stringify(proto)}${body === '{}' ? '}' : `,${body.slice(1)}`}`;
        const result = decodeCommand(text);
        expectWellFormed(result);
        if (result.ok) {
          expect(Object.prototype.hasOwnProperty.call(result.command, '__proto__')).toBe(false);
          expect(Object.getPrototypeOf(result.command)).toBe(Object.prototype);
        }
        expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(PROTOTYPE_KEYS);
      }),
    );
  });
});

describe('decodeCommand: __proto__ keys', () => {
  it('does not read fields through a __proto__ key', () => {
    expectError(decodeCommand('{"__proto__":{"id":1,"type":"ping"}}'), ErrorCode.InvalidFrame, null);
    expectError(decodeCommand('{"id":1,"__proto__":{"type":"ping"}}'), ErrorCode.InvalidFrame, 1);
    expectError(decodeCommand('{"id":1,"type":"publish","channel":"a","__proto__":{"data":1}}'), ErrorCode.InvalidField, 1);
    expectError(decodeCommand('{"id":1,"type":"subscribe","__proto__":{"channel":"a"}}'), ErrorCode.InvalidChannel, 1);
  });

  it('keeps __proto__ inside data as plain data and never pollutes Object.prototype', () => {
    const text =
      '{"id":1,"type":"publish","channel":"a","data":{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}}';
    const result = decodeCommand(text);
    expect(result.ok).toBe(true);
    if (!result.ok || result.command.type !== 'publish') return;
    const data = result.command.data as Record<string, unknown>;
    expect(Object.prototype.hasOwnProperty.call(data, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
    expect(JSON.stringify(data)).toBe('{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  });

  it('ignores a top-level __proto__ key on a valid command', () => {
    expect(decodeCommand('{"id":1,"type":"ping","__proto__":{"type":"publish","polluted":true}}')).toEqual({
      ok: true,
      command: { type: 'ping', id: 1 },
    });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('decodeCommand: deep nesting', () => {
  it('rejects 100,000-deep JSON fast with 1000, without throwing', () => {
    const texts = [
      `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
      `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`,
      `{"id":1,"type":"publish","channel":"a","data":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
      '['.repeat(100_000),
    ];
    const started = performance.now();
    for (const text of texts) expectError(decodeCommand(text), ErrorCode.InvalidJson, null);
    // Generous bound: one linear scan each; a recursive parse would be far slower or throw.
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
