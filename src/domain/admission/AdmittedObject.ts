// The object under admission, decoded with the snapshot's own decoders, and the snapshot with
// that object in it (the webhook sees the object before the API server stores it, so the
// controller's snapshot does not hold it yet).
// Rules:
// - The request's namespace and kind are authoritative: an object without `metadata.namespace`
//   (a create in the current namespace) or without `kind` gets them from the request.
// - An object created with `generateName` has no name yet; it is planned under
//   `<generateName><generated>`, a name no object can have (`<` and `>` are not allowed in
//   names), so it never stands in for a real pod. It has no UID either: the planner keys such
//   a pod by its name (PlanContext.podUidOf).
// - Putting an object into the snapshot replaces the one of the same key (a stale pod of the
//   same name, the stored version of an updated workload) and keeps its input position; a new
//   one comes last. The snapshot itself is never changed.
import * as E from 'fp-ts/lib/Either.js';
import type { Pod } from '../schema/kube.js';
import type { Entry, Snapshot, SnapshotKind } from '../Snapshot.js';
import { decodeRaw } from '../Snapshot.js';

/** What the adapter's request says about the object (a subset of AdmissionRequestView). */
export interface RequestedObject {
  readonly kind: { readonly group: string; readonly version: string; readonly kind: string };
  readonly namespace: string;
  readonly name: string;
  readonly object: unknown;
}

export const GENERATED_SUFFIX = '<generated>';

const record = (value: unknown): Readonly<Record<string, unknown>> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

const nonEmpty = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** The raw object with its name (or placeholder), namespace, apiVersion and kind filled in. */
export const completed = (req: RequestedObject): unknown => {
  const raw = record(req.object);
  const meta = record(raw['metadata']);
  const name = nonEmpty(meta['name']) ?? nonEmpty(req.name) ?? `${nonEmpty(meta['generateName']) ?? ''}${GENERATED_SUFFIX}`;
  const namespace = nonEmpty(meta['namespace']) ?? nonEmpty(req.namespace) ?? 'default';
  const apiVersion = req.kind.group === '' ? req.kind.version : `${req.kind.group}/${req.kind.version}`;
  return { ...raw, apiVersion: raw['apiVersion'] ?? apiVersion, kind: raw['kind'] ?? req.kind.kind, metadata: { ...meta, name, namespace } };
};

const ORIGIN = { file: 'admission request', document: 0 };

export interface Decoded<A> {
  readonly kind: SnapshotKind;
  readonly key: string;
  readonly entry: Entry<A>;
}

/** Decodes an object of a kind the snapshot holds (Pod, Deployment, ReplicaSet, StatefulSet),
 *  or says why it cannot be read. */
export const decodeAdmitted = <A>(req: RequestedObject, kind: SnapshotKind): E.Either<string, Decoded<A>> => {
  const decoded = decodeRaw(completed(req), ORIGIN, Number.MAX_SAFE_INTEGER);
  if (decoded === undefined) return E.left(`${req.kind.kind} is not a kind the IPAM reads`);
  if (!decoded.ok) return E.left(decoded.problem.message);
  if (decoded.kind !== kind) return E.left(`expected a ${kind} object, got ${req.kind.kind}`);
  return E.right({ kind: decoded.kind, key: decoded.key, entry: decoded.entry as Entry<A> });
};

export const decodePod = (req: RequestedObject): E.Either<string, Pod> =>
  E.map((d: Decoded<Pod>) => d.entry.object)(decodeAdmitted<Pod>(req, 'pods'));

/** The snapshot with `entry` under `key` in `kind` (replacing what was there). */
export const withEntry = (snapshot: Snapshot, kind: SnapshotKind, key: string, entry: Entry<unknown>): Snapshot => {
  const map = new Map(snapshot[kind] as ReadonlyMap<string, Entry<unknown>>);
  const earlier = map.get(key);
  map.set(key, earlier === undefined ? entry : { ...entry, order: earlier.order });
  return { ...snapshot, [kind]: map };
};

/** The snapshot without the entries of `kind` that `drop` selects. */
export const without = <K extends SnapshotKind>(
  snapshot: Snapshot,
  kind: K,
  drop: (key: string, entry: Snapshot[K] extends ReadonlyMap<string, infer V> ? V : never) => boolean,
): Snapshot => {
  const entries = [...(snapshot[kind] as ReadonlyMap<string, Snapshot[K] extends ReadonlyMap<string, infer V> ? V : never>)];
  return { ...snapshot, [kind]: new Map(entries.filter(([key, entry]) => !drop(key, entry))) };
};

/** A pod entry for planning: last in input order, no origin file. */
export const podEntry = (pod: Pod): Entry<Pod> => ({ object: pod, origin: ORIGIN, order: Number.MAX_SAFE_INTEGER });
