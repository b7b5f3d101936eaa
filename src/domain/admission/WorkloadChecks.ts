// What the validating webhook says about a workload's pod template (issue 12).
// Rules:
// - The template is checked as one pod would be (Findings.checkPod), against the cluster
//   without the workload's own pods and without the workload itself: on an update, the pods it
//   is about to replace hold its addresses, and that is no conflict.
// - A static address or MAC (any network, from any of its annotations) on a template that runs
//   more than one pod at once is denied: every pod would ask for the same one.
// - For a Deployment, ReplicaSet or StatefulSet the planner then simulates its missing pods and
//   a Deployment's rollout surge (only when nothing was denied); each simulated pod that would
//   get no address is a warning naming it. The template's own NoAvailableAddress is left to the
//   simulation there, which says which pod would stall.
// Cost: checkWorkloadWith gives checkWorkload's decision from a prepared state (Prepared.ts):
// the simulation and, when the workload has no pods yet, the template check in O(log n) per
// pod planned. The template check of a workload with pods of its own (an update, a
// Deployment's new ReplicaSet) and a StatefulSet with IP objects no live pod owns (its spec
// decides whether they are kept) take checkWorkload's way: the rebuild differs there.
import * as E from 'fp-ts/lib/Either.js';
import { formatMac } from '../Address.js';
import type { PlanOptions } from '../ClusterPlanner.js';
import type { PlanErrorCode } from '../Plan.js';
import { requestOf } from '../PlanContext.js';
import { annotationKey, formatIpAddresses, NETWORKS_ANNOTATION } from '../schema/annotations.js';
import type { Deployment, Pod, ReplicaSet } from '../schema/kube.js';
import type { Snapshot } from '../Snapshot.js';
import { matches } from '../Workloads.js';
import { withEntry, without } from './AdmittedObject.js';
import type { Finding } from './Findings.js';
import { checkPod, checkPodWith, findingsOf, networksOf, staticKey } from './Findings.js';
import type { AdmissionState } from './Prepared.js';
import { podsSelected, unownedOfStatefulSet } from './Prepared.js';
import type { SimulatedErrors } from './Simulation.js';
import { planSimulated, planSimulatedWith, simulatedPodsOf } from './Simulation.js';
import type { Workload } from './Workload.js';

export const TEMPLATE_SUFFIX = '<template>';

/** The pod the template makes (a name no real pod can have, a UID of its own). */
export const templatePod = (w: Workload): Pod => ({
  metadata: {
    name: `${w.name}${TEMPLATE_SUFFIX}`,
    namespace: w.namespace,
    uid: `admission:${w.title}`,
    labels: w.template.labels ?? {},
    annotations: w.template.annotations ?? {},
  },
  spec: {},
});

/** The cluster as the template's pod meets it: without the workload and its own pods. */
const othersOf = (snapshot: Snapshot, w: Workload): Snapshot => {
  const rest = without(snapshot, 'pods', (_key, e) => (e.object.metadata.namespace ?? 'default') === w.namespace && matches(w.ownPods, e.object.metadata.labels ?? {}));
  const stored = w.stored;
  return stored === undefined ? rest : without(rest, stored.kind, (key) => key === stored.key);
};

const subject = (key: string, ifName: string): string => (key === NETWORKS_ANNOTATION ? `annotation "${key}": ${ifName}:` : `annotation "${key}":`);

/** Static addresses and MACs every pod of a many-pod template would ask for. */
const sharedStatics = (snapshot: Snapshot, pod: Pod, many: string): readonly Finding[] =>
  networksOf(snapshot, pod).flatMap((net): Finding[] => {
    const request = requestOf(pod, net);
    if (E.isLeft(request)) return [];
    const { ipAddresses, mac } = request.right;
    const out: Finding[] = [];
    if (ipAddresses !== undefined && ipAddresses.length > 0) {
      const key = staticKey(pod, net, 'ip_address') ?? annotationKey(net.provider, 'ip_address');
      out.push({
        verdict: 'deny', code: 'AddressConflict',
        message: `${subject(key, net.interface)} static address ${formatIpAddresses(ipAddresses)} would be shared by ${many}; give each pod its own with ip_pool`,
      });
    }
    if (mac !== undefined) {
      const key = staticKey(pod, net, 'mac_address') ?? annotationKey(net.provider, 'mac_address');
      out.push({ verdict: 'deny', code: 'AddressConflict', message: `${subject(key, net.interface)} static MAC ${formatMac(mac)} would be shared by ${many}; each pod needs its own` });
    }
    return out;
  });

/** Problems of the template itself, already said by the template's check. */
const TEMPLATE_CODES: readonly PlanErrorCode[] = ['InvalidAnnotation', 'NetworkNotFound', 'ProviderMismatch', 'UnmanagedNetwork', 'NoSubnet', 'SubnetInvalid'];

const stallsOf = (snapshot: Snapshot, planned: readonly SimulatedErrors[]): readonly Finding[] =>
  planned.flatMap(({ sim, errors }) => {
    const stalls = errors.filter((e) => !TEMPLATE_CODES.includes(e.code));
    return findingsOf(snapshot, sim.pod, stalls, sim.workload).map((f): Finding => ({
      verdict: 'warn', code: f.code, message: `pod ${sim.pod.metadata.namespace ?? 'default'}/${sim.pod.metadata.name} of ${sim.workload} would stall: ${f.message}`,
    }));
  });

/** Warnings for the simulated pods of the workload that would get no address. */
const simulationFindings = (snapshot: Snapshot, w: Workload, options: PlanOptions): readonly Finding[] => {
  const stored = w.stored;
  if (stored === undefined) return [];
  const withWorkload = withEntry(snapshot, stored.kind, stored.key, stored.entry);
  return stallsOf(withWorkload, planSimulated(withWorkload, simulatedPodsOf(withWorkload, stored), options));
};

/** simulationFindings from a prepared state: the workload's pods counted from the label
 *  index, the simulated pods planned in a Draft over the prepared claims. */
const simulationFindingsWith = (state: AdmissionState, snapshot: Snapshot, w: Workload, options: PlanOptions): readonly Finding[] => {
  const stored = w.stored;
  if (stored === undefined) return [];
  // A Deployment or ReplicaSet counts the pods its selector selects; a StatefulSet looks its
  // pods up by name.
  const selector = (stored.entry.object as Deployment | ReplicaSet).spec.selector;
  const pods = stored.kind === 'statefulsets' ? snapshot.pods : new Map(podsSelected(state, snapshot, w.namespace, selector));
  return stallsOf(snapshot, planSimulatedWith(state, snapshot, simulatedPodsOf({ ...snapshot, pods }, stored), options));
};

/** Everything the webhook says about the workload's template. */
export const checkWorkload = (snapshot: Snapshot, w: Workload, options: PlanOptions): readonly Finding[] => {
  if (w.hostNetwork) return [];
  const pod = templatePod(w);
  const others = othersOf(snapshot, w);
  const shared = w.many === undefined ? [] : sharedStatics(others, pod, w.many);
  const template = checkPod(others, pod, options).filter((f) => !(w.stored !== undefined && f.code === 'NoAvailableAddress'));
  const found = [...shared, ...template];
  if (found.some((f) => f.verdict === 'deny')) return found;
  return [...found, ...simulationFindings(snapshot, w, options)];
};

/** checkWorkload's decision from a prepared state of `snapshot`. */
export const checkWorkloadWith = (state: AdmissionState, snapshot: Snapshot, w: Workload, options: PlanOptions): readonly Finding[] => {
  if (w.hostNetwork) return [];
  if (w.stored?.kind === 'statefulsets' && unownedOfStatefulSet(state, snapshot, w.namespace, w.name).length > 0) return checkWorkload(snapshot, w, options);
  const pod = templatePod(w);
  const hasOwnPods = podsSelected(state, snapshot, w.namespace, w.ownPods).length > 0;
  const shared = w.many === undefined ? [] : sharedStatics(snapshot, pod, w.many);
  const checked = hasOwnPods ? checkPod(othersOf(snapshot, w), pod, options) : checkPodWith(state, snapshot, pod, options);
  const template = checked.filter((f) => !(w.stored !== undefined && f.code === 'NoAvailableAddress'));
  const found = [...shared, ...template];
  if (found.some((f) => f.verdict === 'deny')) return found;
  return [...found, ...simulationFindingsWith(state, snapshot, w, options)];
};
