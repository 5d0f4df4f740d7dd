/** Most characters of a topic selector (longer ones are refused with 400). */
export const MAX_SELECTOR_LENGTH = 2048;

/** Most expressions (`{…}`) in a URI-template selector of a subscription (more are refused with 400). */
export const MAX_TEMPLATE_EXPRESSIONS = 16;

/** Most characters of a subscription's URI-template selectors together (more are refused with 400). */
export const MAX_TEMPLATE_CHARS = 8192;

const U = String.raw`(?:[A-Za-z0-9\-_~.]|%[0-9A-Fa-f]{2})`;
const U_NO_DOT = String.raw`(?:[A-Za-z0-9\-_~]|%[0-9A-Fa-f]{2})`;
const R = String.raw`(?:[A-Za-z0-9\-_~.:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})`;
const VARNAME = /^[A-Za-z0-9_.%]+(?::[1-9][0-9]{0,3}|\*)?$/;

/** The regular expression one RFC 6570 expression (`{…}`) matches, by its operator. */
function expression(operator: string): string {
  switch (operator) {
    case '+':
      return `${R}*`;
    case '#':
      return `(?:#${R}*)?`;
    case '.':
      return `(?:\\.(?:${U_NO_DOT}|,)*)*`;
    case '/':
      return `(?:/(?:${U}|,)*)*`;
    case ';':
      return `(?:;(?:${U}|[=,])*)*`;
    case '?':
      return `(?:\\?(?:${U}|[=,&])*)?`;
    case '&':
      return `(?:&(?:${U}|[=,])*)*`;
    default:
      return `(?:${U}|,)*`;
  }
}

/** A parsed template: literal texts around its expressions (`literals.length === operators.length + 1`). */
interface Template {
  readonly literals: readonly string[];
  readonly operators: readonly string[];
}

function parseTemplate(template: string): Template | undefined {
  const literals: string[] = [];
  const operators: string[] = [];
  let rest = template;
  for (;;) {
    const open = rest.indexOf('{');
    const close = rest.indexOf('}');
    if (open === -1) {
      if (close !== -1) return undefined;
      literals.push(rest);
      break;
    }
    if (close !== -1 && close < open) return undefined;
    const end = rest.indexOf('}', open);
    if (end === -1) return undefined;
    literals.push(rest.slice(0, open));
    let body = rest.slice(open + 1, end);
    let operator = '';
    if (/^[+#./;?&]/.test(body)) {
      operator = body[0]!;
      body = body.slice(1);
    }
    if (body === '' || body.includes('{') || !body.split(',').every((v) => VARNAME.test(v))) return undefined;
    operators.push(operator);
    rest = rest.slice(end + 1);
  }
  return operators.length === 0 ? undefined : { literals, operators };
}

/**
 * A matcher of the expansions of an RFC 6570 URI template (every level-4 operator; a variable
 * matches any value its operator could expand to), or undefined when `template` has no expression
 * or is not a valid template (an unbalanced brace, a bad variable name).
 *
 * Linear in the topic's length, whatever the template (no backtracking): an expression followed by
 * a literal ends at that literal's first occurrence (at the end of the topic for the last one), an
 * expression followed by another takes the longest text its operator allows. So `{+a}/{b}` does
 * not match `x/y/z` (where `a` would have to be `x/y`): a literal right after a `+` or `#`
 * expression should be a character the expression does not take.
 */
export function compileTemplate(template: string): ((topic: string) => boolean) | undefined {
  const parsed = parseTemplate(template);
  return parsed === undefined ? undefined : templateMatcher(parsed);
}

function templateMatcher(parsed: Template): (topic: string) => boolean {
  const { literals, operators } = parsed;
  const whole = operators.map((op) => new RegExp(`^${expression(op)}$`));
  const sticky = operators.map((op) => new RegExp(expression(op), 'y'));
  return (topic) => {
    if (!topic.startsWith(literals[0]!)) return false;
    let pos = literals[0]!.length;
    for (let i = 0; i < operators.length; i++) {
      const literal = literals[i + 1]!;
      const last = i === operators.length - 1;
      let end: number;
      if (last) {
        if (!topic.endsWith(literal)) return false;
        end = topic.length - literal.length;
      } else if (literal !== '') {
        end = topic.indexOf(literal, pos);
      } else {
        const re = sticky[i]!;
        re.lastIndex = pos;
        end = re.exec(topic) === null ? pos : re.lastIndex;
      }
      if (end < pos || !whole[i]!.test(topic.slice(pos, end))) return false;
      pos = end + literal.length;
    }
    return pos === topic.length;
  };
}

/**
 * A Mercure topic selector (draft-dunglas-mercure-07, "Topic Selectors"): `*` matches every topic; a
 * selector matches a topic equal to it; a selector that is a URI template (RFC 6570) matches the
 * topics that are its expansions.
 */
export class TopicSelector {
  readonly text: string;
  /** `*`: every topic. */
  readonly any: boolean;
  /** How many expressions (`{…}`) the selector has: 0 unless it is a URI template. */
  readonly expressions: number;
  /** The template's expression, when the selector is a URI template. */
  readonly #template: ((topic: string) => boolean) | undefined;

  constructor(text: string) {
    this.text = text;
    this.any = text === '*';
    const parsed = this.any ? undefined : parseTemplate(text);
    this.expressions = parsed?.operators.length ?? 0;
    this.#template = parsed === undefined ? undefined : templateMatcher(parsed);
  }

  /** Whether only a topic equal to the selector matches (no `*`, no template). */
  get exact(): boolean {
    return !this.any && this.#template === undefined;
  }

  matches(topic: string): boolean {
    return this.any || topic === this.text || (this.#template !== undefined && this.#template(topic));
  }
}

/** Most selector results one update remembers (see {@link matchesSome}). */
const MAX_REMEMBERED = 4096;

/**
 * Whether any of `selectors` matches any of `topics`. With `remembered` (an update's own map, shared
 * by every stream it is dispatched to), each selector text is matched against the update's topics
 * once per update, whatever how many streams hold it (at most {@link MAX_REMEMBERED} texts are kept).
 */
export function matchesSome(selectors: readonly TopicSelector[], topics: readonly string[], remembered?: Map<string, boolean>): boolean {
  for (const selector of selectors) {
    let hit = remembered?.get(selector.text);
    if (hit === undefined) {
      hit = topics.some((topic) => selector.matches(topic));
      if (remembered !== undefined && remembered.size < MAX_REMEMBERED) remembered.set(selector.text, hit);
    }
    if (hit) return true;
  }
  return false;
}
