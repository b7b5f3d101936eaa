// The controller's view of the cluster: a Snapshot kept current by watches and by the
// controller's own writes. Rules:
// - An object is replaced only by a newer one (resourceVersion compared as an integer, as the
//   API server issues them); stale watch events are ignored.
// - The controller's own writes are applied as soon as they are planned (so the next plan,
//   possibly for another pod, already sees the claim) and again with the server's answer.
// - A RESET (re-list) replaces a kind wholesale, except for the controller's own writes newer
//   than the list: a re-list that raced a write must not forget a claim.
// - The echo of our own write is not a change: an event that brings an IP object or a pod as
//   one of our writes intended it (what a plan reads of it is the same) confirms the intent
//   and names no key, even when it arrives before the write's answer (on a busy API server it
//   often does), so the pod is not planned again for nothing.
// - What a plan intends is held only until the server's word on that object arrives (an event,
//   an answer, a re-list); when its write fails and a fresh read cannot say what the server
//   holds, `revertIntended` puts back what was there, so
//   a failed delete never hides an IP object that still exists (a leak the sweep cannot see)
//   and a failed create never shows one that does not (annotations published without a claim),
//   even when the API server cannot be read right after the failure.
// - An address counts as released (reused last by the planner) only when the API server says an
//   IP object that held it is gone or holds another address now: an intended write that failed
//   released nothing.
// - One object can break nothing else: one whose decoding throws is treated as one that does
//   not decode (logged, ignored), so a re-list keeps every other object of its kind.
// The planner reads it synchronously, so a plan always sees one consistent state.
import { isDeepStrictEqual } from 'node:util';
import type { ReleasedAddresses } from '../domain/ClusterPlanner.js';
import type { Action } from '../domain/Plan.js';
import type { IP } from '../domain/schema/kubeovn.js';
import type { Entry, Snapshot, SnapshotKind } from '../domain/Snapshot.js';
import { decodeRaw, keyOf } from '../domain/Snapshot.js';
import type { Log, WatchEvent } from './ports.js';

const MAX_RELEASES = 65_536;

const kinds: readonly SnapshotKind[] = ['pods', 'namespaces', 'subnets', 'ips', 'ippools', 'nads', 'deployments', 'replicasets', 'statefulsets', 'virtualmachines', 'virtualmachineinstances'];

const rvOf = (value: unknown): bigint | undefined => {
  const rv = (value as { metadata?: { resourceVersion?: unknown } } | undefined)?.metadata?.resourceVersion;
  return typeof rv === 'string' && /^\d+$/.test(rv) ? BigInt(rv) : undefined;
};

/** decodeRaw, with a throw (a bug meeting one odd object) turned into a decoding problem. */
const decodeSafely = (raw: unknown): ReturnType<typeof decodeRaw> => {
  try {
    return decodeRaw(raw, { file: 'cluster', document: 0 }, 0);
  } catch (err) {
    return { ok: false, problem: { origin: { file: 'cluster', document: 0 }, kind: '<unknown>', name: '<unknown>', message: `decoding threw: ${err instanceof Error ? err.message : String(err)}` } };
  }
};

interface OwnWrite {
  readonly rv: bigint;
  /** The object as written, or null for a delete. */
  readonly raw: unknown;
}

/** The object an action's intended write changes in the snapshot, if any. */
const intendedKey = (a: Action): { readonly kind: SnapshotKind; readonly key: string } | undefined => {
  switch (a.type) {
    case 'CreateIP':
    case 'UpdateIP':
    case 'DeleteIP':
      return { kind: 'ips', key: a.target };
    case 'PatchPodAnnotations':
      return { kind: 'pods', key: a.target };
    case 'UpdateSubnetStatus':
      return { kind: 'subnets', key: a.target };
    case 'UpdateIPPoolStatus':
      return { kind: 'ippools', key: a.target };
    default:
      return undefined;
  }
};

/** What plans read of an object our writes change (see the rules): equal for an intended
 *  object and the server's copy of it. Undefined for other kinds (and no object): never an
 *  echo. */
const echoView = (kind: SnapshotKind, o: unknown): unknown => {
  const v = o as { metadata?: { uid?: string; labels?: unknown; annotations?: unknown; deletionTimestamp?: string; ownerReferences?: unknown }; spec?: unknown; status?: { phase?: string } } | undefined;
  if (v === undefined) return undefined;
  switch (kind) {
    case 'ips': return [v.metadata?.labels ?? {}, v.spec];
    case 'pods': return [v.metadata?.uid, v.metadata?.labels, v.metadata?.annotations, v.metadata?.deletionTimestamp, v.metadata?.ownerReferences, v.spec, v.status?.phase];
    default: return undefined;
  }
};

export class LiveSnapshot {
  private readonly maps = new Map<SnapshotKind, Map<string, Entry<unknown>>>(kinds.map((k) => [k, new Map()]));
  private readonly rvs = new Map<string, bigint>();
  private readonly own = new Map<string, OwnWrite>();
  /** Per kind/key that an intended write changed: the entry it replaced (undefined: none). */
  private readonly intents = new Map<string, { readonly before: Entry<unknown> | undefined }>();
  private order = 0;
  private view: Snapshot | undefined;
  private readonly releases: ReleasedAddresses[] = [];
  /** Per IP object, its subnet and address as the API server last confirmed them. */
  private readonly confirmed = new Map<string, { readonly subnet: string; readonly ipAddress: string }>();

  constructor(private readonly log: Log, private readonly now: () => number = () => 0) {}

  /** IP objects removed since start (oldest first, at most MAX_RELEASES): their addresses are
   *  reused last by the planner. */
  get released(): readonly ReleasedAddresses[] {
    return this.releases;
  }

  /** The current state, for the planner (do not hold it across an await). */
  get snapshot(): Snapshot {
    // One record of the live maps, made again only when a re-list replaces a kind's map.
    this.view ??= Object.fromEntries(this.maps) as unknown as Snapshot;
    return this.view;
  }

  /** Applies a watch event; returns the keys whose objects changed (kind/key). */
  onEvent(e: WatchEvent): readonly string[] {
    if (e.type === 'RESET') return this.reset(e.kind, e.objects);
    const key = keyOf(e.kind, e.object);
    if (key === undefined) return [];
    const id = `${e.kind}/${key}`;
    const incoming = rvOf(e.object);
    const known = this.rvs.get(id);
    // Older than what we hold, or the echo of our own write (already recorded): nothing new.
    if (incoming !== undefined && known !== undefined && (incoming < known || (incoming === known && e.type !== 'DELETED'))) {
      const mine = this.own.get(id);
      if (mine !== undefined && incoming >= mine.rv) this.own.delete(id);
      return [];
    }
    const mine = this.own.get(id);
    if (mine !== undefined && incoming !== undefined && incoming >= mine.rv) this.own.delete(id);
    if (e.type === 'DELETED') {
      this.gone(e.kind, key);
      if (incoming !== undefined) this.rvs.set(id, incoming);
      return [id];
    }
    const intended = this.intents.has(id) ? this.maps.get(e.kind)!.get(key)?.object : undefined;
    if (!this.put(e.kind, e.object, key)) return [];
    // Compared as values: the server's copy may order its keys otherwise.
    const view = echoView(e.kind, intended);
    const echo = view !== undefined && isDeepStrictEqual(view, echoView(e.kind, this.maps.get(e.kind)!.get(key)?.object));
    return echo ? [] : [id];
  }

  /** Records the server's answer to one of our writes (an object, or null after a delete). */
  recordWrite(kind: SnapshotKind, key: string, raw: unknown | null): void {
    const id = `${kind}/${key}`;
    const rv = raw === null ? (this.rvs.get(id) ?? 0n) + 1n : rvOf(raw);
    if (raw === null) this.gone(kind, key);
    else this.put(kind, raw, key);
    if (rv !== undefined) this.own.set(id, { rv, raw });
  }

  /** Applies what a plan's actions intend, before they are written. */
  applyIntended(actions: readonly Action[]): void {
    for (const a of actions) {
      const touched = intendedKey(a);
      if (touched !== undefined) {
        const id = `${touched.kind}/${touched.key}`;
        if (!this.intents.has(id)) this.intents.set(id, { before: this.maps.get(touched.kind)!.get(touched.key) });
      }
      switch (a.type) {
        case 'CreateIP':
        case 'UpdateIP': {
          const current = this.maps.get('ips')!.get(a.target)?.object as { metadata?: { resourceVersion?: string; finalizers?: string[] } } | undefined;
          this.putIntended('ips', { apiVersion: 'kubeovn.io/v1', kind: 'IP', metadata: { name: a.ip.name, labels: a.ip.labels, resourceVersion: current?.metadata?.resourceVersion }, spec: a.ip.spec });
          break;
        }
        case 'DeleteIP':
          this.remove('ips', a.target);
          break;
        case 'PatchPodAnnotations': {
          const pod = this.maps.get('pods')!.get(a.target)?.object as { metadata: { annotations?: Record<string, string> } } | undefined;
          if (pod === undefined) break;
          const annotations = { ...(pod.metadata.annotations ?? {}) };
          for (const [k, v] of Object.entries(a.annotations)) {
            if (v === null) delete annotations[k];
            else annotations[k] = v;
          }
          this.putIntended('pods', { ...pod, metadata: { ...pod.metadata, annotations } });
          break;
        }
        case 'UpdateSubnetStatus': {
          const subnet = this.maps.get('subnets')!.get(a.target)?.object as Record<string, unknown> | undefined;
          if (subnet !== undefined) this.putIntended('subnets', { ...subnet, status: a.status });
          break;
        }
        case 'UpdateIPPoolStatus': {
          const pool = this.maps.get('ippools')!.get(a.target)?.object as Record<string, unknown> | undefined;
          if (pool !== undefined) this.putIntended('ippools', { ...pool, status: a.status });
          break;
        }
        case 'EmitEvent':
          break;
      }
    }
  }

  /** Puts back what `applyIntended(actions)` replaced, for each object the server has not
   *  spoken of since (its answer, an event or a re-list is the truth and stays). For a plan
   *  whose write failed: the writes after the failure were never made, and the failed one's
   *  outcome is unknown; the state before it is safe to plan from, since every action is
   *  idempotent (a repeated delete finds nothing, a repeated create is told it exists). */
  revertIntended(actions: readonly Action[]): void {
    for (const a of actions) {
      const touched = intendedKey(a);
      if (touched === undefined) continue;
      const id = `${touched.kind}/${touched.key}`;
      const intent = this.intents.get(id);
      if (intent === undefined) continue;
      this.intents.delete(id);
      if (intent.before === undefined) this.maps.get(touched.kind)!.delete(touched.key);
      else this.maps.get(touched.kind)!.set(touched.key, intent.before);
    }
  }

  /** Stores an intended object without touching its known resourceVersion. */
  private putIntended(kind: SnapshotKind, raw: unknown): void {
    const d = decodeSafely(raw);
    if (d === undefined || !d.ok) return;
    const map = this.maps.get(kind)!;
    map.set(d.key, { ...d.entry, order: map.get(d.key)?.order ?? this.order++ });
  }

  /** Stores what the API server says; `key`, when known, is dropped if that does not decode
   *  (what we held under it, say an intended write, is not what the server holds). */
  private put(kind: SnapshotKind, raw: unknown, key?: string): boolean {
    const d = decodeSafely(raw);
    if (d === undefined) return false;
    if (!d.ok) {
      this.log.warn('ignoring an object that does not decode', { kind, problem: d.problem.message });
      return key !== undefined && this.maps.get(kind)!.delete(key);
    }
    const map = this.maps.get(kind)!;
    map.set(d.key, { ...d.entry, order: map.get(d.key)?.order ?? this.order++ });
    this.intents.delete(`${kind}/${d.key}`);
    this.confirm(kind, d.key, d.entry.object as IP);
    const rv = rvOf(raw);
    if (rv !== undefined) this.rvs.set(`${kind}/${d.key}`, rv);
    return true;
  }

  private remove(kind: SnapshotKind, key: string): void {
    this.maps.get(kind)!.delete(key);
  }

  /** The API server says the object is gone. */
  private gone(kind: SnapshotKind, key: string): void {
    this.remove(kind, key);
    this.intents.delete(`${kind}/${key}`);
    this.confirm(kind, key, undefined);
  }

  /** What the API server says an IP object now holds (undefined: it is gone); its earlier
   *  address, if it held another, is released. */
  private confirm(kind: SnapshotKind, key: string, ip: IP | undefined): void {
    if (kind !== 'ips') return;
    const before = this.confirmed.get(key);
    if (before !== undefined && (ip === undefined || ip.spec.subnet !== before.subnet || ip.spec.ipAddress !== before.ipAddress)) {
      this.releases.push({ ...before, at: this.now() });
      if (this.releases.length > MAX_RELEASES) this.releases.splice(0, this.releases.length - MAX_RELEASES);
    }
    if (ip === undefined) this.confirmed.delete(key);
    else this.confirmed.set(key, { subnet: ip.spec.subnet, ipAddress: ip.spec.ipAddress });
  }

  private reset(kind: SnapshotKind, objects: readonly unknown[]): readonly string[] {
    const before = new Set(this.maps.get(kind)!.keys());
    const listRv = objects.reduce<bigint>((max, o) => {
      const rv = rvOf(o);
      return rv !== undefined && rv > max ? rv : max;
    }, 0n);
    this.maps.set(kind, new Map());
    this.view = undefined;
    for (const id of [...this.intents.keys()]) if (id.startsWith(`${kind}/`)) this.intents.delete(id);
    for (const o of objects) this.put(kind, o);
    // Own writes the list may have missed stay.
    for (const [id, w] of this.own) {
      if (!id.startsWith(`${kind}/`)) continue;
      const key = id.slice(kind.length + 1);
      const listed = this.maps.get(kind)!.has(key) ? rvOf(this.maps.get(kind)!.get(key)!.object) : undefined;
      if (listed !== undefined && listed >= w.rv) continue;
      if (w.raw === null) this.remove(kind, key);
      else if (listed !== undefined || w.rv > listRv) this.put(kind, w.raw);
    }
    const after = new Set(this.maps.get(kind)!.keys());
    // Deleted while the watch was down.
    for (const key of before) if (!after.has(key)) this.confirm(kind, key, undefined);
    return [...new Set([...before, ...after])].map((k) => `${kind}/${k}`);
  }
}
