// Decoding of untrusted input (a Kubernetes object, a NAD config, an annotation) with io-ts,
// reporting problems a person can act on.
// Rules:
// - Every problem is collected (io-ts validates all fields), each with a path in dotted form with
//   indices (`spec.excludeIps[2]`, `metadata.annotations["ovn.kubernetes.io/ip_pool"]`) and a
//   message without the path: `is required` for a missing field, else
//   `expected <what>, got <what was there>`.
// - io-ts's bookkeeping never shows: intersection members vanish from paths, and a failed union
//   is one problem at the union's own path ("expected an integer or a string, got …").
// - Problems are deduplicated and keep io-ts's order (the order of the fields in the codec).
// - A `DecodeFailure` names the object (`Subnet "macvlan"`) and joins its problems with "; ".
import type * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';

export interface Problem {
  /** Dotted path from the object's root; empty for the root itself. */
  readonly path: string;
  /** What is wrong, without the path. */
  readonly message: string;
}

export interface DecodeFailure {
  readonly code: 'InvalidObject';
  /** The object, e.g. `Subnet "macvlan"` or `Pod "default/samplepod"`. */
  readonly object: string;
  readonly problems: readonly Problem[];
  /** `<object>: <path>: <message>; <path>: <message>…` */
  readonly message: string;
}

/** `path: message`, or just the message for the root. */
export const formatProblem = (problem: Problem): string =>
  problem.path === '' ? problem.message : `${problem.path}: ${problem.message}`;

export const formatProblems = (problems: readonly Problem[]): string => problems.map(formatProblem).join('; ');

export const decodeFailure = (object: string, problems: readonly Problem[]): DecodeFailure => ({
  code: 'InvalidObject',
  object,
  problems,
  message: `${object}: ${formatProblems(problems)}`,
});

/** Appends a relative path (`.a[1]`, `[0].b` or ``) to a base path (which may be empty). */
export const joinPath = (base: string, relative: string): string =>
  base === '' ? relative.replace(/^\./, '') : base + relative;

/** The path segment for an object key: `.key` when it reads as a name, else `["key"]`. */
export const keySegment = (key: string): string =>
  /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;

/** Describes a value as the message's "got …" part. Long strings are shortened. */
export const describeValue = (value: unknown): string => {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return `the string ${quote(value)}`;
    case 'number':
      return `the number ${String(value)}`;
    case 'boolean':
      return `the boolean ${String(value)}`;
    case 'object':
      return 'an object';
    default:
      return `a value of type ${typeof value}`;
  }
};

/** JSON-quotes a string, shortened to 60 characters so a message stays readable. */
export const quote = (text: string): string =>
  JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);

/** A JSON value as compact JSON for a message, at most `max` characters: nesting below three
 *  levels shows as `…`, so a value of any depth or size costs a few steps and never throws
 *  (JSON.stringify of a value nested thousands deep overflows the stack). */
export const preview = (value: unknown, max = 80): string => {
  const render = (v: unknown, depth: number): string => {
    if (v === undefined) return 'nothing';
    if (typeof v === 'string') return JSON.stringify(v.length > max ? v.slice(0, max) : v);
    if (typeof v !== 'object' || v === null) return String(v);
    if (depth === 3) return Array.isArray(v) ? '[…]' : '{…}';
    if (Array.isArray(v)) return `[${v.slice(0, 8).map((x) => render(x, depth + 1)).join(',')}${v.length > 8 ? ',…' : ''}]`;
    const entries = Object.entries(v);
    const shown = entries.slice(0, 8).map(([k, x]) => `${JSON.stringify(k.slice(0, max))}:${render(x, depth + 1)}`);
    return `{${shown.join(',')}${entries.length > 8 ? ',…' : ''}}`;
  };
  const text = render(value, 0);
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
};

// ---- describing io-ts codecs -----------------------------------------------------------------

/** The parts of an io-ts codec this module reads; io-ts's own codecs carry a `_tag`. */
interface CodecShape {
  readonly name: string;
  readonly _tag?: string;
  readonly type?: CodecShape;
  readonly types?: readonly CodecShape[];
  readonly inner?: CodecShape;
  readonly keys?: Readonly<Record<string, unknown>>;
  readonly value?: unknown;
}

const shape = (decoder: t.Decoder<unknown, unknown>): CodecShape => decoder as unknown as CodecShape;

/** Looks through codecs that add no structure of their own. */
const unwrap = (codec: CodecShape): CodecShape => {
  if ((codec._tag === 'ReadonlyType' || codec._tag === 'ExactType') && codec.type) return unwrap(codec.type);
  if (codec._tag === 'OptionalType' && codec.inner) return unwrap(codec.inner);
  return codec;
};

interface Expected {
  readonly text: string;
  /** True when the codec accepts only listed literals: a string is then shown bare ("ipv4"). */
  readonly literal: boolean;
}

const describeCodec = (raw: CodecShape): Expected => {
  const codec = unwrap(raw);
  switch (codec._tag) {
    case 'StringType':
      return { text: 'a string', literal: false };
    case 'NumberType':
      return { text: 'a number', literal: false };
    case 'BooleanType':
      return { text: 'a boolean', literal: false };
    case 'NullType':
      return { text: 'null', literal: false };
    case 'LiteralType':
      return { text: JSON.stringify(codec.value), literal: true };
    case 'KeyofType':
      return { text: `one of ${Object.keys(codec.keys ?? {}).map((k) => JSON.stringify(k)).join(', ')}`, literal: true };
    case 'InterfaceType':
    case 'PartialType':
    case 'IntersectionType':
    case 'DictionaryType':
    case 'AnyDictionaryType':
      return { text: 'an object', literal: false };
    case 'ArrayType':
    case 'ReadonlyArrayType':
    case 'AnyArrayType':
    case 'TupleType':
      return { text: 'an array', literal: false };
    case 'UnionType':
      return describeUnion(codec.types ?? []);
    default:
      return { text: codec.name, literal: false };
  }
};

const describeUnion = (members: readonly CodecShape[]): Expected => {
  const described = members.map(describeCodec);
  if (described.length > 0 && described.every((d) => d.literal)) {
    return { text: `one of ${described.map((d) => d.text.replace(/^one of /, '')).join(', ')}`, literal: true };
  }
  return { text: described.map((d) => d.text).join(' or '), literal: false };
};

const problemMessage = (expected: Expected, actual: unknown): string => {
  if (actual === undefined) return 'is required';
  const got = expected.literal && typeof actual === 'string' ? quote(actual) : describeValue(actual);
  return `expected ${expected.text}, got ${got}`;
};

/** Turns one io-ts error into a problem with a relative path (`.spec.mtu`, `[0].name` or ``):
 *  the path skips intersection members and stops at the first union, whose members' failures
 *  are reported as the union's. */
const toProblem = (error: t.ValidationError): Problem => {
  const context = error.context;
  let path = '';
  for (let i = 1; i < context.length; i += 1) {
    const parentEntry = context[i - 1];
    const entry = context[i];
    if (parentEntry === undefined || entry === undefined) break;
    const parent = unwrap(shape(parentEntry.type));
    if (parent._tag === 'UnionType') return { path, message: problemMessage(describeCodec(parent), parentEntry.actual) };
    if (parent._tag === 'IntersectionType') continue;
    const indexed = parent._tag === 'ArrayType' || parent._tag === 'ReadonlyArrayType' || parent._tag === 'TupleType';
    path += indexed ? `[${entry.key}]` : keySegment(entry.key);
  }
  const last = context[context.length - 1];
  if (last === undefined) return { path, message: problemMessage({ text: 'a value', literal: false }, error.value) };
  return { path, message: problemMessage(describeCodec(shape(last.type)), error.value) };
};

const dedupe = (problems: readonly Problem[]): readonly Problem[] => {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = formatProblem(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
};

/** Decodes `value`, naming each problem's path below `basePath` (e.g. `spec.config`). */
export const decodeAt = <A>(
  codec: t.Decoder<unknown, A>,
  value: unknown,
  basePath: string,
): E.Either<readonly Problem[], A> =>
  pipe(
    codec.decode(value),
    E.mapLeft((errors) =>
      dedupe(errors.map(toProblem)).map((p) => ({ path: joinPath(basePath, p.path), message: p.message })),
    ),
  );

/** Decodes a whole object; `what` names it in the failure (`Subnet "macvlan"`). */
export const decodeObject = <A>(
  codec: t.Decoder<unknown, A>,
  value: unknown,
  what: string,
): E.Either<DecodeFailure, A> =>
  pipe(
    decodeAt(codec, value, ''),
    E.mapLeft((problems) => decodeFailure(what, problems)),
  );
