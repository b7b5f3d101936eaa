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
import * as E from 'fp-ts/lib/Either.js';
import { formatMac } from '../Address.js';
import type { PlanOptions } from '../ClusterPlanner.js';
import type { PlanErrorCode } from '../Plan.js';
import { requestOf } from '../PlanContext.js';
import { annotationKey, formatIpAddresses, NETWORKS_ANNOTATION } from '../schema/annotations.js';
import type { Pod } from '../schema/kube.js';
import type { Snapshot } from '../Snapshot.js';
import { matches } from '../Workloads.js';
import { withEntry, without } from './AdmittedObject.js';
import type { Finding } from './Findings.js';
import { checkPod, findingsOf, networksOf, staticKey } from './Findings.js';
import { planSimulated, simulatedPodsOf } from './Simulation.js';
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

/** Warnings for the simulated pods of the workload that would get no address. */
const simulationFindings = (snapshot: Snapshot, w: Workload, options: PlanOptions): readonly Finding[] => {
  const stored = w.stored;
  if (stored === undefined) return [];
  const withWorkload = withEntry(snapshot, stored.kind, stored.key, stored.entry);
  return planSimulated(withWorkload, simulatedPodsOf(withWorkload, stored), options).flatMap(({ sim, errors }) => {
    const stalls = errors.filter((e) => !TEMPLATE_CODES.includes(e.code));
    return findingsOf(withWorkload, sim.pod, stalls, sim.workload).map((f): Finding => ({
      verdict: 'warn', code: f.code, message: `pod ${sim.pod.metadata.namespace ?? 'default'}/${sim.pod.metadata.name} of ${sim.workload} would stall: ${f.message}`,
    }));
  });
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
