// Pods and the workloads that own them.
// Rules:
// - A pod is a StatefulSet pod when an ownerReference of kind StatefulSet (apiVersion apps/*)
//   names a StatefulSet whose name plus `-` starts the pod's name; its ordinal is the integer
//   after the last `-` (Kube-OVN's isStatefulSetPod).
// - A StatefulSet still wants an ordinal when it exists, is not being deleted, has the owner's
//   UID (when known) and `start <= ordinal < start + replicas`.
// - Simulation (dry-run only): a Deployment, a standalone ReplicaSet or a StatefulSet whose
//   pods are not all in the snapshot gets the missing ones as simulated pods built from its
//   template: `<sts>-<ordinal>` for a StatefulSet, `<name>-sim-<n>` for the others, plus a
//   Deployment's rolling-update surge (`maxSurge`, default 25% rounded up) as `<name>-surge-<n>`,
//   so a plan says whether the workload and its rollout fit. Their UIDs are `simulated:<ns>/<name>`.
//   At most MAX_SIMULATED pods per workload (and per surge): the API server takes `replicas:
//   2147483647`, and a plan must still end; the workload's name then says how many were left out.
import type { LabelSelector } from './schema/meta.js';
import type { Deployment, Pod, ReplicaSet, StatefulSet } from './schema/kube.js';
import type { Entry, Snapshot } from './Snapshot.js';

export interface StatefulSetMembership {
  readonly statefulSet: string;
  readonly ordinal: number;
  readonly ownerUid: string;
}

export const statefulSetOf = (pod: Pod): StatefulSetMembership | undefined => {
  const owner = (pod.metadata.ownerReferences ?? []).find(
    (o) => o.kind === 'StatefulSet' && o.apiVersion.startsWith('apps/') && pod.metadata.name.startsWith(`${o.name}-`),
  );
  if (owner === undefined) return undefined;
  const tail = pod.metadata.name.slice(pod.metadata.name.lastIndexOf('-') + 1);
  const ordinal = /^\d+$/.test(tail) ? Number(tail) : 0;
  return { statefulSet: owner.name, ordinal, ownerUid: owner.uid };
};

/** Does the StatefulSet (if any) still want the pod of this name's ordinal? */
export const statefulSetWants = (snapshot: Snapshot, namespace: string, member: StatefulSetMembership): boolean => {
  const sts = snapshot.statefulsets.get(`${namespace}/${member.statefulSet}`)?.object;
  if (sts === undefined || sts.metadata.deletionTimestamp !== undefined) return false;
  if (member.ownerUid !== '' && sts.metadata.uid !== undefined && sts.metadata.uid !== member.ownerUid) return false;
  const start = sts.spec.ordinals?.start ?? 0;
  const replicas = sts.spec.replicas ?? 1;
  return member.ordinal >= start && member.ordinal < start + replicas;
};

/** A pod the IPAM must not (or no longer) serve: host network, finished or being deleted. */
export const isGone = (pod: Pod): boolean =>
  pod.metadata.deletionTimestamp !== undefined || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

/** Does `selector` select `labels`? An empty selector selects nothing. */
export const matches = (selector: LabelSelector | undefined, labels: Readonly<Record<string, string>>): boolean => {
  const wanted = selector?.matchLabels ?? {};
  if (Object.keys(wanted).length === 0 && (selector?.matchExpressions ?? []).length === 0) return false;
  const byLabels = Object.entries(wanted).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector?.matchExpressions ?? []).every((e) => {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const value = labels[e.key];
    switch (e.operator) {
      case 'In': return has && (e.values ?? []).includes(value!);
      case 'NotIn': return !has || !(e.values ?? []).includes(value!);
      case 'Exists': return has;
      case 'DoesNotExist': return !has;
      default: return false;
    }
  });
  return byLabels && byExpressions;
};

export interface SimulatedPod {
  readonly pod: Pod;
  /** The workload it stands for, e.g. `Deployment default/static-workload`. */
  readonly workload: string;
}

const simulate = (namespace: string, name: string, template: { metadata?: { labels?: Readonly<Record<string, string>>; annotations?: Readonly<Record<string, string>> } }, owner?: { kind: string; name: string; uid: string }): Pod => ({
  metadata: {
    name,
    namespace,
    uid: `simulated:${namespace}/${name}`,
    labels: template.metadata?.labels ?? {},
    annotations: template.metadata?.annotations ?? {},
    ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: owner.kind, name: owner.name, uid: owner.uid }] } : {}),
  },
  spec: {},
});

/** `maxSurge` of a RollingUpdate Deployment: an integer, or a percentage of replicas rounded up. */
export const surgeOf = (d: Deployment): number => {
  if (d.spec.strategy?.type === 'Recreate') return 0;
  const surge = d.spec.strategy?.rollingUpdate?.maxSurge ?? '25%';
  const replicas = d.spec.replicas ?? 1;
  if (typeof surge === 'number') return surge;
  const percent = /^(\d+)%$/.exec(surge);
  return percent ? Math.ceil((replicas * Number(percent[1])) / 100) : Number(surge) || 0;
};

/** Simulated pods per workload (and per rollout surge), at most. */
export const MAX_SIMULATED = 10_000;

/** `wanted` as a count of pods to simulate: a whole number from 0 to MAX_SIMULATED (a surge
 *  written as `"1e400"` or `"-3"` is a number too). */
const simulatedCount = (wanted: number): number => (Number.isNaN(wanted) ? 0 : Math.max(0, Math.min(MAX_SIMULATED, Math.floor(wanted))));

/** The workload's name, with how many pods were left out when there were more than MAX_SIMULATED. */
const named = (workload: string, wanted: number): string =>
  wanted > MAX_SIMULATED ? `${workload} (the first ${MAX_SIMULATED} of ${wanted} pods)` : workload;

const livePods = (snapshot: Snapshot, namespace: string): Pod[] =>
  [...snapshot.pods.values()].map((e) => e.object).filter((p) => p.metadata.namespace === namespace && !isGone(p));

const replicaLike = (snapshot: Snapshot, kind: string, e: Entry<Deployment | ReplicaSet>, surge: number): SimulatedPod[] => {
  const { metadata, spec } = e.object;
  const namespace = metadata.namespace ?? 'default';
  const existing = livePods(snapshot, namespace).filter((p) => matches(spec.selector, p.metadata.labels ?? {})).length;
  const missing = Math.max(0, (spec.replicas ?? 1) - existing);
  const workload = `${kind} ${namespace}/${metadata.name}`;
  return [
    ...Array.from({ length: simulatedCount(missing) }, (_, i) => ({ pod: simulate(namespace, `${metadata.name}-sim-${i + 1}`, spec.template), workload: named(workload, missing) })),
    ...Array.from({ length: simulatedCount(surge) }, (_, i) => ({ pod: simulate(namespace, `${metadata.name}-surge-${i + 1}`, spec.template), workload: named(`${workload} (rollout surge)`, surge) })),
  ];
};

const statefulSetPods = (snapshot: Snapshot, e: Entry<StatefulSet>): SimulatedPod[] => {
  const { metadata, spec } = e.object;
  const namespace = metadata.namespace ?? 'default';
  const start = spec.ordinals?.start ?? 0;
  const replicas = spec.replicas ?? 1;
  const workload = named(`StatefulSet ${namespace}/${metadata.name}`, replicas);
  return Array.from({ length: simulatedCount(replicas) }, (_, i) => `${metadata.name}-${start + i}`)
    .filter((name) => !snapshot.pods.has(`${namespace}/${name}`))
    .map((name) => ({ pod: simulate(namespace, name, spec.template, { kind: 'StatefulSet', name: metadata.name, uid: metadata.uid ?? '' }), workload }));
};

/** Simulated pods for every workload whose pods are missing, in input order of the workloads. */
export const simulatedPods = (snapshot: Snapshot): readonly SimulatedPod[] => {
  const ownedByDeployment = (rs: ReplicaSet) => (rs.metadata.ownerReferences ?? []).some((o) => o.kind === 'Deployment');
  const workloads: [number, () => SimulatedPod[]][] = [
    ...[...snapshot.deployments.values()].map((e): [number, () => SimulatedPod[]] => [e.order, () => replicaLike(snapshot, 'Deployment', e, surgeOf(e.object))]),
    ...[...snapshot.replicasets.values()].filter((e) => !ownedByDeployment(e.object)).map((e): [number, () => SimulatedPod[]] => [e.order, () => replicaLike(snapshot, 'ReplicaSet', e, 0)]),
    ...[...snapshot.statefulsets.values()].map((e): [number, () => SimulatedPod[]] => [e.order, () => statefulSetPods(snapshot, e)]),
  ];
  return workloads.sort((a, b) => a[0] - b[0]).flatMap(([, make]) => make());
};
