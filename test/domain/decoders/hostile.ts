// Hostile input for the decoder properties (issue 14, item 1): values a user can write into an
// object, a CNI config or a request, built from real valid examples and mutated in one place.
// Rules: every value is what JSON (or YAML) can carry — no functions, symbols or getters — so a
// failure found here is one a user can reproduce with kubectl, a NAD or a socket.
import fc from 'fast-check';

/** Nested `depth` deep (`[[[…]]]`), as JSON.parse gives it: deeper than a recursive walk survives. */
export const deeplyNested = (depth: number): unknown => {
  const value = JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown[];
  // fast-check prints a counterexample recursively: this one prints in a few characters.
  Object.defineProperty(value, fc.toStringMethod, { value: () => `[…${depth} deep…]` });
  return value;
};

/** Keys that bite code which reads objects as maps. */
export const protoKeys = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty'] as const;

/** An object whose own keys are `__proto__`, `constructor`, … (as JSON.parse makes them). */
export const protoObject: fc.Arbitrary<unknown> = fc
  .subarray([...protoKeys], { minLength: 1 })
  .chain((keys) => fc.tuple(...keys.map(() => fc.jsonValue({ maxDepth: 1 }))).map((values) =>
    JSON.parse(`{${keys.map((k, i) => `${JSON.stringify(k)}:${JSON.stringify(values[i] ?? null)}`).join(',')}}`) as unknown));

/** Text that almost parses as an address, CIDR, range, MAC, name or number. */
export const nearMissText: fc.Arbitrary<string> = fc
  .array(fc.constantFrom(
    '10', '0', '00', '010', '255', '256', '4294967296', '99999999999999999999', '.', '..', ':', '::', 'ffff', 'fd00', 'g', '/', '/024',
    '/33', '/0129', '-', '..', ' ', '\t', '\n', '\u00a0', '%eth0', '1.2.3.4', '::ffff:', '\uff12', '\u0662', ',', ';', '@', '=', '[',
    ']', '{', '}', '"', '\\', '\u0000', '\ud800', '\u{1F600}', 'a', 'Z', 'eth0', 'net1', '02:00:00:00:00:01', 'ff', '-1', '1e309',
    'NaN', 'true', 'null', '__proto__', 'constructor',
  ), { maxLength: 8 })
  .map((parts) => parts.join(''));

/** Numbers JSON can carry that a field rarely expects. */
export const oddNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, -1, 1.5, 2 ** 31, 2 ** 53, 2 ** 53 + 2, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);

/** Any value a user can put where a field is. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 3, arbitrary: nearMissText },
  { weight: 2, arbitrary: oddNumber },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: protoObject },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, true, false, '', [], {}, [null], [[]], [{}], { '': '' }) },
  { weight: 1, arbitrary: fc.constant(null).map(() => deeplyNested(12_000)) },
);

type Path = readonly (string | number)[];

/** Every path into a JSON value (the root included), parents before children. */
export const pathsOf = (value: unknown, prefix: Path = []): Path[] => {
  if (Array.isArray(value)) return [prefix, ...value.flatMap((v, i) => pathsOf(v, [...prefix, i]))];
  if (typeof value === 'object' && value !== null) {
    return [prefix, ...Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...prefix, k]))];
  }
  return [prefix];
};

/** A copy of `value` with the node at `path` replaced (or removed, for `undefined`). */
export const replaceAt = (value: unknown, path: Path, by: unknown): unknown => {
  if (path.length === 0) return by;
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = [...(value as unknown[])];
    if (by === undefined && rest.length === 0) copy.splice(head as number, 1);
    else copy[head as number] = replaceAt(copy[head as number], rest, by);
    return copy;
  }
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) Object.defineProperty(copy, k, { value: v, enumerable: true, writable: true, configurable: true });
  const next = replaceAt(copy[head as string], rest, by);
  if (next === undefined) delete copy[head as string];
  else Object.defineProperty(copy, head as string, { value: next, enumerable: true, writable: true, configurable: true });
  return copy;
};

/** `valid` with one to three of its nodes replaced by hostile values or removed (the root never). */
export const mutated = (valid: unknown): fc.Arbitrary<unknown> => {
  const paths = pathsOf(valid).filter((p) => p.length > 0);
  const one = fc.tuple(fc.constantFrom(...paths), fc.option(hostileValue, { nil: undefined, freq: 6 }));
  return fc.array(one, { minLength: 1, maxLength: 3 }).map((edits) => edits.reduce((v, [path, by]) => {
    // A later edit under a node an earlier one replaced goes nowhere: skip it.
    try {
      return replaceAt(v, path, by);
    } catch {
      return v;
    }
  }, valid));
};

/** JSON text of `value`; a value too deep to stringify is given as text nested 100,000 deep. */
export const jsonText = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return '['.repeat(100_000);
  }
};

/** Text near the JSON of `valid`: the value mutated (then `adjust`ed), the text cut short, or
 *  the text with a hostile piece spliced in. */
export const jsonTextFrom = (valid: unknown, adjust: (value: unknown) => unknown = (v) => v): fc.Arbitrary<string> => {
  const whole = JSON.stringify(valid);
  return fc.oneof(
    mutated(valid).map((v) => jsonText(adjust(v))),
    fc.nat({ max: whole.length }).map((n) => whole.slice(0, n)),
    fc.tuple(fc.nat({ max: whole.length }), nearMissText).map(([n, piece]) => whole.slice(0, n) + piece + whole.slice(n)),
  );
};
