/**
 * The documented answer of an example, as the docs write it: JSON in which `…` stands for what the
 * reader need not see. A `…` value matches any value, a `…` member of an object lets the answer have
 * more members, a `…` element of an array lets it have more elements. `"c1.…"` is just a string.
 */
export type Shape =
  | { readonly kind: 'any' }
  | { readonly kind: 'value'; readonly value: string | number | boolean | null }
  | { readonly kind: 'array'; readonly items: readonly Shape[]; readonly open: boolean }
  | { readonly kind: 'object'; readonly members: ReadonlyMap<string, Shape>; readonly open: boolean };

const ELLIPSIS = '…';

/**
 * Parses the documented JSON value at the start of `text` (leading blanks skipped). Returns the
 * shape and the text after it (prose such as `; the poll on 3002 answers…`), or throws a
 * `SyntaxError` naming the offset.
 */
export function parseShape(text: string): { shape: Shape; rest: string } {
  let at = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`documented JSON: ${what} at offset ${at} of ${JSON.stringify(text.slice(0, 120))}`);
  };
  const blanks = (): void => {
    while (at < text.length && /\s/.test(text[at]!)) at++;
  };
  const take = (token: string): boolean => {
    blanks();
    if (!text.startsWith(token, at)) return false;
    at += token.length;
    return true;
  };
  const string = (): string => {
    const match = /^"(?:[^"\\]|\\.)*"/.exec(text.slice(at));
    if (match === null) return fail('a string expected');
    at += match[0].length;
    return JSON.parse(match[0]) as string;
  };
  const value = (): Shape => {
    blanks();
    if (take(ELLIPSIS)) return { kind: 'any' };
    const char = text[at];
    if (char === '{') return object();
    if (char === '[') return array();
    if (char === '"') return { kind: 'value', value: string() };
    const literal = /^(?:true|false|null|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(at));
    if (literal === null) return fail('a value expected');
    at += literal[0].length;
    return { kind: 'value', value: JSON.parse(literal[0]) as number | boolean | null };
  };
  const object = (): Shape => {
    at++;
    const members = new Map<string, Shape>();
    let open = false;
    while (!take('}')) {
      if (take(ELLIPSIS)) open = true;
      else {
        blanks();
        const key = string();
        if (!take(':')) fail('":" expected');
        members.set(key, value());
      }
      // `{…"offset":6…}`: an ellipsis may stand where a comma would.
      if (!take(',') && !text.startsWith(ELLIPSIS, at) && !text.startsWith('}', at)) {
        blanks();
        if (!text.startsWith('}', at) && !text.startsWith(ELLIPSIS, at)) fail('"," or "}" expected');
      }
    }
    return { kind: 'object', members, open };
  };
  const array = (): Shape => {
    at++;
    const items: Shape[] = [];
    let open = false;
    while (!take(']')) {
      blanks();
      if (take(ELLIPSIS)) open = true;
      else items.push(value());
      if (!take(',')) {
        blanks();
        if (!text.startsWith(']', at)) fail('"," or "]" expected');
      }
    }
    return { kind: 'array', items, open };
  };
  const shape = value();
  return { shape, rest: text.slice(at) };
}

/**
 * Members whose documented value is compared exactly: they name the request's own subject or a
 * stable code, never a volatile value (epochs, times, cursors, counts, ids).
 */
const EXACT_KEYS: ReadonlySet<string> = new Set(['code', 'type', 'status', 'reason', 'channel', 'duplicate', 'more']);

const kindOf = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);

const describe = (shape: Shape): string => (shape.kind === 'value' ? kindOf(shape.value) : shape.kind === 'any' ? 'anything' : shape.kind);

/**
 * Compares an answer with its documented shape: the same members (all of them unless the docs
 * elide some with `…`), of the same types, arrays empty or not as documented; values are compared
 * only for the members in {@link EXACT_KEYS} and for an error's `message`. Returns one line per
 * difference, empty when the answer fits.
 */
export function compareShape(shape: Shape, actual: unknown, path = '$', key = ''): string[] {
  switch (shape.kind) {
    case 'any':
      return [];
    case 'value': {
      if (kindOf(actual) !== kindOf(shape.value))
        return [
          `${path}: documented ${kindOf(shape.value)} ${JSON.stringify(shape.value)}, got ${kindOf(actual)} ${JSON.stringify(actual)}`,
        ];
      const exact = EXACT_KEYS.has(key) || path.endsWith('.error.message');
      return exact && actual !== shape.value ? [`${path}: documented ${JSON.stringify(shape.value)}, got ${JSON.stringify(actual)}`] : [];
    }
    case 'array': {
      if (!Array.isArray(actual)) return [`${path}: documented an array, got ${kindOf(actual)}`];
      // `[]` in the docs is the hub's state at the time (no member yet): any array fits.
      if (shape.items.length === 0) return [];
      if (actual.length === 0) return [`${path}: documented ${shape.items.length} element(s), got an empty array`];
      if (actual.length === shape.items.length)
        return shape.items.flatMap((item, index) => compareShape(item, actual[index], `${path}[${index}]`));
      // Another number of elements than documented (the hub's state differs): each must fit one of
      // the documented elements.
      return actual.flatMap((element, index) => {
        const tries = shape.items.map((item) => compareShape(item, element, `${path}[${index}]`));
        return tries.some((differences) => differences.length === 0) ? [] : tries[0]!;
      });
    }
    case 'object': {
      if (kindOf(actual) !== 'object') return [`${path}: documented an object, got ${kindOf(actual)}`];
      const record = actual as Record<string, unknown>;
      const differences: string[] = [];
      for (const [name, member] of shape.members) {
        if (!(name in record)) differences.push(`${path}.${name}: documented (${describe(member)}), missing from the answer`);
        else differences.push(...compareShape(member, record[name], `${path}.${name}`, name));
      }
      if (!shape.open)
        for (const name of Object.keys(record))
          if (!shape.members.has(name))
            differences.push(`${path}.${name}: in the answer (${JSON.stringify(record[name])}), not documented`);
      return differences;
    }
  }
}
