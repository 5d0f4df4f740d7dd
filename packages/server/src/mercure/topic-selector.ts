/** Most characters of a topic selector (longer ones are refused with 400). */
export const MAX_SELECTOR_LENGTH = 2048;

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

/**
 * An RFC 6570 URI template as a regular expression matching its expansions (every level-4 operator;
 * a variable matches any value its operator could expand to), or undefined when `template` has no
 * expression or is not a valid template (an unbalanced brace, a bad variable name).
 */
export function templateRegExp(template: string): RegExp | undefined {
  let source = '^';
  let expressions = 0;
  let rest = template;
  for (;;) {
    const open = rest.indexOf('{');
    const close = rest.indexOf('}');
    if (open === -1) {
      if (close !== -1) return undefined;
      source += escapeRegExp(rest);
      break;
    }
    if (close !== -1 && close < open) return undefined;
    const end = rest.indexOf('}', open);
    if (end === -1) return undefined;
    source += escapeRegExp(rest.slice(0, open));
    let body = rest.slice(open + 1, end);
    let operator = '';
    if (/^[+#./;?&]/.test(body)) {
      operator = body[0]!;
      body = body.slice(1);
    }
    if (body === '' || body.includes('{') || !body.split(',').every((v) => VARNAME.test(v))) return undefined;
    source += expression(operator);
    expressions++;
    rest = rest.slice(end + 1);
  }
  return expressions === 0 ? undefined : new RegExp(`${source}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
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
  /** The template's expression, when the selector is a URI template. */
  readonly #template: RegExp | undefined;

  constructor(text: string) {
    this.text = text;
    this.any = text === '*';
    this.#template = this.any ? undefined : templateRegExp(text);
  }

  /** Whether only a topic equal to the selector matches (no `*`, no template). */
  get exact(): boolean {
    return !this.any && this.#template === undefined;
  }

  matches(topic: string): boolean {
    return this.any || topic === this.text || (this.#template !== undefined && this.#template.test(topic));
  }
}

/** Whether any of `selectors` matches any of `topics`. */
export function matchesSome(selectors: readonly TopicSelector[], topics: readonly string[]): boolean {
  for (const selector of selectors) for (const topic of topics) if (selector.matches(topic)) return true;
  return false;
}
