// JSON parsing that says where the text goes wrong.
// Rules: JSON.parse decides what is valid. When it refuses, a small scanner finds the offset of
// the first error (Node's own messages carry a position only for some errors) and reports it as
// a 1-based line and column with what was expected there. Total: never throws, however deep
// the text nests.
import * as E from 'fp-ts/lib/Either.js';

export interface JsonSyntaxError {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
  readonly reason: string;
  /** `invalid JSON at line L, column C: <reason>` */
  readonly message: string;
}

/** How deep the text's arrays and objects nest (0 for a scalar), by one pass over the text
 *  (strings skipped), without parsing: a cheap guard before JSON.parse and before anything
 *  that walks the result recursively. Unbalanced text gives the deepest level reached. */
export const nestingDepth = (text: string): number => {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return deepest;
};

export const parseJson = (text: string): E.Either<JsonSyntaxError, unknown> => {
  try {
    return E.right(JSON.parse(text) as unknown);
  } catch (error) {
    const step = locate(text);
    return E.left(step === undefined || step.ok ? syntaxError(text, 0, String(error)) : syntaxError(text, step.at, step.reason));
  }
};

/** The scanner recurses once per nesting level: text nested deeper than the stack allows
 *  (`[[[[…` a hundred thousand times) is reported without a position rather than thrown. */
const locate = (text: string): Step | undefined => {
  try {
    return scanDocument(text);
  } catch {
    return undefined;
  }
};

const syntaxError = (text: string, offset: number, reason: string): JsonSyntaxError => {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return { offset, line, column, reason, message: `invalid JSON at line ${line}, column ${column}: ${reason}` };
};

// ---- the scanner: each step returns where it stopped, or where and why it failed -----------

type Step = { readonly ok: true; readonly at: number } | { readonly ok: false; readonly at: number; readonly reason: string };

const ok = (at: number): Step => ({ ok: true, at });
const fail = (at: number, reason: string): Step => ({ ok: false, at, reason });

const found = (s: string, i: number): string => (i >= s.length ? 'the end of the text' : JSON.stringify(s[i]));

const skipSpace = (s: string, from: number): number => {
  let i = from;
  while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r')) i += 1;
  return i;
};

const scanDocument = (s: string): Step => {
  const value = scanValue(s, skipSpace(s, 0));
  if (!value.ok) return value;
  const end = skipSpace(s, value.at);
  return end < s.length ? fail(end, `unexpected ${found(s, end)} after the JSON value`) : ok(end);
};

const scanValue = (s: string, i: number): Step => {
  const c = s[i];
  if (c === '{') return scanObject(s, i);
  if (c === '[') return scanArray(s, i);
  if (c === '"') return scanString(s, i);
  if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return scanNumber(s, i);
  for (const word of ['true', 'false', 'null']) if (s.startsWith(word, i)) return ok(i + word.length);
  return fail(i, `expected a value, found ${found(s, i)}`);
};

const scanObject = (s: string, open: number): Step => {
  let i = skipSpace(s, open + 1);
  if (s[i] === '}') return ok(i + 1);
  for (;;) {
    if (s[i] !== '"') return fail(i, `expected a property name in double quotes, found ${found(s, i)}`);
    const key = scanString(s, i);
    if (!key.ok) return key;
    i = skipSpace(s, key.at);
    if (s[i] !== ':') return fail(i, `expected ":", found ${found(s, i)}`);
    const value = scanValue(s, skipSpace(s, i + 1));
    if (!value.ok) return value;
    i = skipSpace(s, value.at);
    if (s[i] === '}') return ok(i + 1);
    if (s[i] !== ',') return fail(i, `expected "," or "}", found ${found(s, i)}`);
    i = skipSpace(s, i + 1);
  }
};

const scanArray = (s: string, open: number): Step => {
  let i = skipSpace(s, open + 1);
  if (s[i] === ']') return ok(i + 1);
  for (;;) {
    const value = scanValue(s, i);
    if (!value.ok) return value;
    i = skipSpace(s, value.at);
    if (s[i] === ']') return ok(i + 1);
    if (s[i] !== ',') return fail(i, `expected "," or "]", found ${found(s, i)}`);
    i = skipSpace(s, i + 1);
  }
};

const scanString = (s: string, open: number): Step => {
  let i = open + 1;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 0x22) return ok(i + 1);
    if (c < 0x20) return fail(i, 'a control character (such as a line break) inside a string');
    if (c === 0x5c) {
      const next = s[i + 1] ?? '';
      if ('"\\/bfnrt'.includes(next) && next !== '') i += 2;
      else if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) i += 6;
      else return fail(i, `invalid escape ${JSON.stringify(s.slice(i, i + 2))} in a string`);
    } else {
      i += 1;
    }
  }
  return fail(s.length, 'unterminated string');
};

const numberPattern = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

const scanNumber = (s: string, i: number): Step => {
  numberPattern.lastIndex = i;
  const match = numberPattern.exec(s);
  return match === null ? fail(i, `invalid number starting with ${found(s, i)}`) : ok(i + match[0].length);
};
