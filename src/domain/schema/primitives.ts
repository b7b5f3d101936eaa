// Building blocks for the Kubernetes object schemas.
// Rules:
// - Objects are open: unknown fields are allowed and ignored (Kubernetes adds fields all the time).
// - Every decoded value is readonly: objects through `t.readonly`, lists through `t.readonlyArray`.
// - An optional field accepts `null` as absent, as Kubernetes' own decoders do (`kubectl get -o
//   yaml` writes `creationTimestamp: null` in pod templates); it decodes to `undefined`.
// - A leaf codec made here is named by the noun phrase a failure should print ("an integer"):
//   decode.ts describes io-ts's own codecs by their tag and any other codec by its name.
import * as t from 'io-ts';

/** An optional field: absent, `undefined` or `null` all decode to `undefined`. */
export class OptionalType<C extends t.Mixed> extends t.Type<t.TypeOf<C> | undefined, t.OutputOf<C> | undefined, unknown> {
  readonly _tag = 'OptionalType' as const;
  readonly inner: C;
  constructor(inner: C) {
    super(
      inner.name,
      (u): u is t.TypeOf<C> | undefined => u === undefined || inner.is(u),
      (u, c) => (u === undefined || u === null ? t.success(undefined) : inner.validate(u, c)),
      (a) => (a === undefined ? undefined : (inner.encode(a) as t.OutputOf<C>)),
    );
    this.inner = inner;
  }
}

export const optional = <C extends t.Mixed>(codec: C): OptionalType<C> => new OptionalType(codec);

type OptionalProps<P extends t.Props> = { [K in keyof P]: OptionalType<P[K]> };

const optionalProps = <P extends t.Props>(props: P): OptionalProps<P> => {
  const out: Record<string, OptionalType<t.Mixed>> = {};
  for (const [key, codec] of Object.entries(props)) out[key] = optional(codec);
  return out as unknown as OptionalProps<P>;
};

/** An open, readonly object with `required` fields and `optionalFields` (each null-tolerant). */
export const struct = <R extends t.Props, O extends t.Props>(required: R, optionalFields: O) =>
  t.readonly(t.intersection([t.type(required), t.partial(optionalProps(optionalFields))]));

const isInteger = (u: unknown): u is number => typeof u === 'number' && Number.isInteger(u);

/** A JSON number without a fractional part (Kubernetes' int32/int64 fields). */
export const integer = new t.Type<number, number, unknown>(
  'an integer',
  isInteger,
  (u, c) => (isInteger(u) ? t.success(u) : t.failure(u, c)),
  t.identity,
);

/** Kubernetes' IntOrString (e.g. `maxSurge: 1` or `maxSurge: "25%"`). */
export const intOrString = t.union([integer, t.string]);

export const strings = t.readonlyArray(t.string);

/** A string-to-string map such as labels or annotations. */
export const stringMap = t.readonly(t.record(t.string, t.string));
