import { describe, it, expect } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { parseJson } from '../../../src/domain/schema/json.js';

describe('parseJson', () => {
  it.each<[string, unknown]>([
    ['{"a": [1, -2.5e3, true, false, null, "x\\n\\u00e9"]}', { a: [1, -2500, true, false, null, 'x\né'] }],
    [' [] ', []],
    ['"s"', 's'],
  ])('parses %j', (text, value) => {
    expect(parseJson(text)).toEqual(E.right(value));
  });

  it.each<[string, number, number, string]>([
    ['{"a": x}', 1, 7, 'expected a value, found "x"'],
    ['{"a":}', 1, 6, 'expected a value, found "}"'],
    ['{', 1, 2, 'expected a property name in double quotes, found the end of the text'],
    ['', 1, 1, 'expected a value, found the end of the text'],
    ['{"a":1,}', 1, 8, 'expected a property name in double quotes, found "}"'],
    ["{'a':1}", 1, 2, 'expected a property name in double quotes, found "\'"'],
    ['{"a" 1}', 1, 6, 'expected ":", found "1"'],
    ['{"a":1 "b":2}', 1, 8, 'expected "," or "}", found "\\""'],
    ['[1 2]', 1, 4, 'expected "," or "]", found "2"'],
    ['[1,]', 1, 4, 'expected a value, found "]"'],
    ['{"a":1}}', 1, 8, 'unexpected "}" after the JSON value'],
    ['"abc', 1, 5, 'unterminated string'],
    ['"a\\x"', 1, 3, 'invalid escape "\\\\x" in a string'],
    ['"a\nb"', 1, 3, 'a control character (such as a line break) inside a string'],
    ['-x', 1, 1, 'invalid number starting with "-"'],
    ['01', 1, 2, 'unexpected "1" after the JSON value'],
    ['tru', 1, 1, 'expected a value, found "t"'],
    ['{\n  "type": "macvlan",\n  "ipam": {\n    "type": "kube-ovn",\n  }\n}', 5, 3, 'expected a property name in double quotes, found "}"'],
  ])('locates the error in %j at line %i, column %i', (text, line, column, reason) => {
    const result = parseJson(text);
    expect(E.isLeft(result) && { line: result.left.line, column: result.left.column, reason: result.left.reason, message: result.left.message }).toEqual({
      line,
      column,
      reason,
      message: `invalid JSON at line ${line}, column ${column}: ${reason}`,
    });
  });
});
