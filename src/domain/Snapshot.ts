// The snapshot: the cluster objects a plan reads, decoded and indexed, immutable.
// Rules:
// - Objects come with an origin (file and document index) and their input order; kinds the
//   IPAM does not read are skipped, an object that fails to decode is reported (with its
//   origin, kind/name and field) and left out, and the rest is still planned.
// - A later object with the same kind and key replaces an earlier one (as `kubectl apply` would).
// - Namespaced keys are `namespace/name`; a namespaced object without a namespace is in `default`.
import * as E from 'fp-ts/lib/Either.js';
import type * as t from 'io-ts';
import type { DecodeFailure } from './schema/decode.js';
import { decodeObject } from './schema/decode.js';
import type { Deployment, Namespace, Pod, ReplicaSet, StatefulSet } from './schema/kube.js';
import * as K from './schema/kube.js';
import type { IP, IPPool, Subnet } from './schema/kubeovn.js';
import * as O from './schema/kubeovn.js';
import type { NetworkAttachmentDefinition } from './schema/nad.js';
import * as N from './schema/nad.js';
import type { VirtualMachine, VirtualMachineInstance } from './schema/kubevirt.js';
import * as V from './schema/kubevirt.js';

export interface Origin {
  /** File path, `-` for stdin, or `cluster` for a live read. */
  readonly file: string;
  /** 0-based index of the document in its file (or of the item in its list). */
  readonly document: number;
}

export interface RawDocument {
  readonly origin: Origin;
  readonly value: unknown;
}

export interface Entry<A> {
  readonly object: A;
  readonly origin: Origin;
  /** Position in the whole input: the tie-breaker after creation time. */
  readonly order: number;
}

export interface Snapshot {
  readonly pods: ReadonlyMap<string, Entry<Pod>>;
  readonly namespaces: ReadonlyMap<string, Entry<Namespace>>;
  readonly subnets: ReadonlyMap<string, Entry<Subnet>>;
  readonly ips: ReadonlyMap<string, Entry<IP>>;
  readonly ippools: ReadonlyMap<string, Entry<IPPool>>;
  readonly nads: ReadonlyMap<string, Entry<NetworkAttachmentDefinition>>;
  readonly deployments: ReadonlyMap<string, Entry<Deployment>>;
  readonly replicasets: ReadonlyMap<string, Entry<ReplicaSet>>;
  readonly statefulsets: ReadonlyMap<string, Entry<StatefulSet>>;
  /** KubeVirt's (empty on a cluster without KubeVirt): they keep their VM pods' addresses. */
  readonly virtualmachines: ReadonlyMap<string, Entry<VirtualMachine>>;
  readonly virtualmachineinstances: ReadonlyMap<string, Entry<VirtualMachineInstance>>;
}

export interface InputProblem {
  readonly origin: Origin;
  readonly kind: string;
  readonly name: string;
  readonly message: string;
}

type Kind = keyof Snapshot;

interface KindInfo {
  readonly kind: Kind;
  readonly codec: t.Decoder<unknown, unknown>;
  readonly namespaced: boolean;
}

/** `apiVersion` group → kind → where it goes. Versions are not checked: served versions vary. */
const kinds: Readonly<Record<string, KindInfo>> = {
  'Pod': { kind: 'pods', codec: K.Pod, namespaced: true },
  'Namespace': { kind: 'namespaces', codec: K.Namespace, namespaced: false },
  'Subnet': { kind: 'subnets', codec: O.Subnet, namespaced: false },
  'IP': { kind: 'ips', codec: O.IP, namespaced: false },
  'IPPool': { kind: 'ippools', codec: O.IPPool, namespaced: false },
  'NetworkAttachmentDefinition': { kind: 'nads', codec: N.NetworkAttachmentDefinition, namespaced: true },
  'Deployment': { kind: 'deployments', codec: K.Deployment, namespaced: true },
  'ReplicaSet': { kind: 'replicasets', codec: K.ReplicaSet, namespaced: true },
  'StatefulSet': { kind: 'statefulsets', codec: K.StatefulSet, namespaced: true },
  'VirtualMachine': { kind: 'virtualmachines', codec: V.VirtualMachine, namespaced: true },
  'VirtualMachineInstance': { kind: 'virtualmachineinstances', codec: V.VirtualMachineInstance, namespaced: true },
};

export const emptySnapshot: Snapshot = {
  pods: new Map(), namespaces: new Map(), subnets: new Map(), ips: new Map(), ippools: new Map(),
  nads: new Map(), deployments: new Map(), replicasets: new Map(), statefulsets: new Map(),
  virtualmachines: new Map(), virtualmachineinstances: new Map(),
};

const field = (value: unknown, key: string): unknown =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;

const nameOf = (value: unknown): string => {
  const meta = field(value, 'metadata');
  const name = field(meta, 'name');
  const ns = field(meta, 'namespace');
  const n = typeof name === 'string' ? name : '<unnamed>';
  return typeof ns === 'string' ? `${ns}/${n}` : n;
};

/** A document's objects: the items of a `kind: List` / `*List` document, else the document. */
const itemsOf = (doc: RawDocument): readonly unknown[] => {
  const kind = field(doc.value, 'kind');
  const items = field(doc.value, 'items');
  return typeof kind === 'string' && kind.endsWith('List') && Array.isArray(items) ? items : [doc.value];
};

export type SnapshotKind = keyof Snapshot;

export type Decoded =
  | { readonly ok: true; readonly kind: SnapshotKind; readonly key: string; readonly entry: Entry<unknown> }
  | { readonly ok: false; readonly problem: InputProblem };

/** Decodes one object: its snapshot kind and key, or the problem; undefined for kinds the
 *  IPAM does not read (and for empty documents). */
export const decodeRaw = (value: unknown, origin: Origin, order: number): Decoded | undefined => {
  if (value === null || value === undefined) return undefined;
  const kind = field(value, 'kind');
  if (typeof kind !== 'string') {
    return { ok: false, problem: { origin, kind: '<none>', name: nameOf(value), message: `object ${JSON.stringify(nameOf(value))}: kind: is required` } };
  }
  // Own keys only: `kind: __proto__` or `kind: constructor` is a kind we do not read, not Object's.
  const info = Object.hasOwn(kinds, kind) ? kinds[kind] : undefined;
  if (info === undefined) return undefined;
  const decoded: E.Either<DecodeFailure, unknown> = decodeObject(info.codec, value, `${kind} ${JSON.stringify(nameOf(value))}`);
  if (E.isLeft(decoded)) return { ok: false, problem: { origin, kind, name: nameOf(value), message: decoded.left.message } };
  const meta = field(decoded.right, 'metadata') as { name: string; namespace?: string };
  const key = info.namespaced ? `${meta.namespace ?? 'default'}/${meta.name}` : meta.name;
  const object = info.namespaced && meta.namespace === undefined ? withNamespace(decoded.right, 'default') : decoded.right;
  return { ok: true, kind: info.kind, key, entry: { object, origin, order } };
};

/** The key an object of `kind` is indexed under (`namespace/name` for namespaced kinds). */
export const keyOf = (kind: SnapshotKind, value: unknown): string | undefined => {
  const meta = field(value, 'metadata');
  const name = field(meta, 'name');
  if (typeof name !== 'string') return undefined;
  const namespaced = Object.values(kinds).find((k) => k.kind === kind)?.namespaced ?? false;
  const ns = field(meta, 'namespace');
  return namespaced ? `${typeof ns === 'string' ? ns : 'default'}/${name}` : name;
};

/** Two objects of one kind and key: the later is kept (as `kubectl apply` of both would
 *  leave the cluster), and the caller says so. */
export interface Duplicate {
  /** The objects' `kind` (Pod, Subnet, …). */
  readonly kind: string;
  readonly key: string;
  readonly dropped: Origin;
  readonly kept: Origin;
}

export interface BuiltSnapshot {
  readonly snapshot: Snapshot;
  readonly problems: readonly InputProblem[];
  readonly duplicates: readonly Duplicate[];
}

/** Decodes and indexes documents; problems (and duplicates) are returned beside the snapshot,
 *  never thrown. */
export const buildSnapshot = (docs: readonly RawDocument[]): BuiltSnapshot => {
  const builder = new SnapshotBuilder();
  for (const doc of docs) builder.add(doc);
  return builder.result();
};

/** buildSnapshot one document at a time, for a reader that streams them: each document is
 *  decoded as it comes, so the caller need not hold them all (a snapshot may hold 100,000
 *  pods). Adding documents and then taking `result()` equals buildSnapshot of them all. */
export class SnapshotBuilder {
  private readonly maps: Record<Kind, Map<string, Entry<unknown>>> = {
    pods: new Map(), namespaces: new Map(), subnets: new Map(), ips: new Map(), ippools: new Map(),
    nads: new Map(), deployments: new Map(), replicasets: new Map(), statefulsets: new Map(),
    virtualmachines: new Map(), virtualmachineinstances: new Map(),
  };
  private readonly problems: InputProblem[] = [];
  private readonly duplicates: Duplicate[] = [];
  /** Objects seen so far (a list's items each count): the next object's `order`. */
  private order = 0;

  add(doc: RawDocument): void {
    for (const value of itemsOf(doc)) {
      const d = decodeRaw(value, doc.origin, this.order++);
      if (d === undefined) continue;
      if (!d.ok) {
        this.problems.push(d.problem);
        continue;
      }
      const earlier = this.maps[d.kind].get(d.key);
      if (earlier !== undefined) this.duplicates.push({ kind: String(field(value, 'kind')), key: d.key, dropped: earlier.origin, kept: d.entry.origin });
      this.maps[d.kind].set(d.key, d.entry);
    }
  }

  result(): BuiltSnapshot {
    return { snapshot: this.maps as unknown as Snapshot, problems: this.problems, duplicates: this.duplicates };
  }
}

const withNamespace = (value: unknown, namespace: string): unknown => {
  const v = value as { metadata: Record<string, unknown> };
  return { ...v, metadata: { ...v.metadata, namespace } };
};

/** `file: document N: <kind "name">: <field>: <problem>` (the message names kind and object). */
export const formatProblem = (p: InputProblem): string => `${p.origin.file}: document ${p.origin.document}: ${p.message}`;
