// The admission webhook's prepared state (issue 12: validation under 100 ms p99): what
// `validate` would rebuild from the snapshot for every request, derived once, so a request
// only resolves and plans the object under admission, in O(log n) (a Draft over the
// persistent IpamState; the prepared state itself is never changed).
// What it holds, all from one snapshot:
// - the controller's start-up rebuild (IncrementalPlanner.prepare: every existing claim, held
//   addresses, IPPool ranges, earlier releases), which is exactly the state `planPod` builds
//   before it plans the one pod, when that pod adds nothing to the rebuild;
// - the live pods still waiting for an address after it, in planning order (the workload
//   simulation plans them before its own simulated pods);
// - indexes to find, without a scan of every pod or IP object, a workload's own pods (pod
//   keys by namespace and label) and the IP objects that name a pod or a StatefulSet's pods.
// Rules:
// - An index is a hint read against the request's snapshot: each key it gives is looked up
//   there again, so an object deleted since the prepare is never used (one created since is
//   missed until the next prepare; see AdmissionView for what that means).
// - When the object under admission would change the rebuild itself (a pod whose name or UID
//   the cluster already knows: a pod of that name, an IP object naming it, a claim it already
//   published), the callers fall back to the full path; `knownByName` says when.
import * as E from 'fp-ts/lib/Either.js';
import type { PlanOptions, PodItems } from '../ClusterPlanner.js';
import { resolvePod } from '../ClusterPlanner.js';
import type { PlannerState } from '../IncrementalPlanner.js';
import { prepare } from '../IncrementalPlanner.js';
import { claimIdOf } from '../IpamState.js';
import { inCreationOrder, podKeyOf } from '../PlanContext.js';
import { POD_UID_LABEL } from '../Records.js';
import type { Pod } from '../schema/kube.js';
import type { LabelSelector } from '../schema/meta.js';
import type { Entry, Snapshot } from '../Snapshot.js';
import { isGone, matches } from '../Workloads.js';

export interface AdmissionState {
  readonly planner: PlannerState;
  /** Live pods with a network the rebuild holds no claim for, in planning order. */
  readonly waiting: readonly PodItems[];
  /** Pod keys by `<ns>` and by `<ns>\0<label>=<value>`. */
  readonly podsByLabel: ReadonlyMap<string, readonly string[]>;
  /** IP object names by the pod their spec names (`<ns>/<pod>`). */
  readonly ipsByPod: ReadonlyMap<string, readonly string[]>;
  /** Names of StatefulSet IP objects (podType StatefulSet) by namespace. */
  readonly statefulSetIps: ReadonlyMap<string, readonly string[]>;
}

const push = (m: Map<string, string[]>, key: string, value: string): void => {
  const list = m.get(key);
  if (list === undefined) m.set(key, [value]);
  else list.push(value);
};

const labelKey = (namespace: string, label: string, value: string): string => `${namespace}\0${label}=${value}`;

export const live = (pod: Pod): boolean => pod.spec.hostNetwork !== true && !isGone(pod);

/** Derives the prepared state from `snapshot` (O(n log n); once per change, not per request). */
export const prepareAdmission = (snapshot: Snapshot, options: PlanOptions): AdmissionState => {
  const planner = prepare(snapshot, options);
  const waiting = inCreationOrder(snapshot.pods.values())
    .map((e) => e.object)
    .filter(live)
    .map((p) => resolvePod(planner.ctx, p))
    .filter((r) => r.items.some((i) => E.isRight(i.resolved) && !planner.ipam.claims.has(claimIdOf(i.live.key))));
  const podsByLabel = new Map<string, string[]>();
  for (const [key, e] of snapshot.pods) {
    const namespace = e.object.metadata.namespace ?? 'default';
    push(podsByLabel, namespace, key);
    for (const [label, value] of Object.entries(e.object.metadata.labels ?? {})) push(podsByLabel, labelKey(namespace, label, value), key);
  }
  const ipsByPod = new Map<string, string[]>();
  const statefulSetIps = new Map<string, string[]>();
  for (const [name, e] of snapshot.ips) {
    push(ipsByPod, `${e.object.spec.namespace}/${e.object.spec.podName}`, name);
    if (e.object.spec.podType === 'StatefulSet') push(statefulSetIps, e.object.spec.namespace, name);
  }
  return { planner, waiting, podsByLabel, ipsByPod, statefulSetIps };
};

/** The pods of `namespace` that `selector` selects, read from `snapshot` (matches' rules:
 *  an empty selector selects nothing). Cost: the smallest label bucket the selector names. */
export const podsSelected = (state: AdmissionState, snapshot: Snapshot, namespace: string, selector: LabelSelector | undefined): readonly [string, Entry<Pod>][] => {
  const buckets = Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => state.podsByLabel.get(labelKey(namespace, k, v)) ?? []);
  const candidates = buckets.length === 0 ? state.podsByLabel.get(namespace) ?? [] : buckets.reduce((a, b) => (b.length < a.length ? b : a));
  return candidates.flatMap((key) => {
    const e = snapshot.pods.get(key);
    return e !== undefined && (e.object.metadata.namespace ?? 'default') === namespace && matches(selector, e.object.metadata.labels ?? {}) ? [[key, e] as [string, Entry<Pod>]] : [];
  });
};

const ALLOCATED = /(^|\.)kubernetes\.io\/allocated$/;

/** Would the pod change the rebuild (so the prepared state is not the one planPod builds)?
 *  Yes when the snapshot holds a pod of its key (replaced by it), an IP object has the name of
 *  one of its networks' or names it in its spec (the pod would own, adopt or free it), or it
 *  carries a published claim (`allocated: "true"`). */
export const knownByName = (state: AdmissionState, snapshot: Snapshot, r: PodItems): boolean => {
  const key = podKeyOf(r.pod);
  const annotations = r.pod.metadata.annotations ?? {};
  return snapshot.pods.has(key)
    || state.ipsByPod.has(key)
    || r.items.some((i) => snapshot.ips.has(i.live.ipName))
    || Object.entries(annotations).some(([k, v]) => ALLOCATED.test(k) && v === 'true');
};

/** IP objects of a StatefulSet's pods (`<name>-<ordinal>`) that no live pod owns in the
 *  prepared rebuild: only these does the StatefulSet's spec decide (retained or released). */
export const unownedOfStatefulSet = (state: AdmissionState, snapshot: Snapshot, namespace: string, name: string): readonly string[] =>
  (state.statefulSetIps.get(namespace) ?? []).filter((ipName) => {
    const ip = snapshot.ips.get(ipName)?.object;
    if (ip === undefined || !ip.spec.podName.startsWith(`${name}-`)) return false;
    const owner = snapshot.pods.get(`${namespace}/${ip.spec.podName}`)?.object;
    const uid = ip.metadata.labels?.[POD_UID_LABEL];
    return state.planner.loaded.deletions.has(ipName) || owner === undefined || !live(owner) || (uid !== undefined && uid !== owner.metadata.uid);
  });
