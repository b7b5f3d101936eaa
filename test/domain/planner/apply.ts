// A pure stand-in for the apply step, for convergence tests: the snapshot a cluster would hold
// after the plan's writes. Rules:
// - CreateIP / UpdateIP store the IP object (metadata {name, labels, the controller's finalizer}
//   and the spec; an update merges labels into the old metadata); a new object
//   gets origin {file: 'applied', document: 0} and an order after every input; a replaced one
//   keeps its origin and order. DeleteIP removes it (absent is fine).
// - PatchPodAnnotations merges into the pod's annotations (`null` deletes a key); a pod that is
//   absent is left absent, as a merge patch of a missing object would fail.
// - UpdateSubnetStatus sets the Subnet's status, UpdateIPPoolStatus the IPPool's. EmitEvent
//   changes no object.
// Actions apply in plan order (a DeleteIP before a CreateIP of the same name recreates it).
import type { Action, IpObject } from '../../../src/domain/Plan.js';
import type { Pod } from '../../../src/domain/schema/kube.js';
import type { IP, IPPool, Subnet } from '../../../src/domain/schema/kubeovn.js';
import type { Entry, Snapshot } from '../../../src/domain/Snapshot.js';

const APPLIED_ORDER = 1_000_000_000;

/** As the API server would hold it: a created object carries the controller's finalizer; an
 *  update (a merge patch) keeps the old object's other labels and its finalizers. */
const ipOf = (o: IpObject, old: IP | undefined): IP => ({
  apiVersion: 'kubeovn.io/v1',
  kind: 'IP',
  metadata: old === undefined
    ? { name: o.name, labels: { ...o.labels }, finalizers: ['kube-ovn-ipam.io/ip'] }
    : { ...old.metadata, labels: { ...old.metadata.labels, ...o.labels } },
  spec: { ...o.spec, attachIps: [...o.spec.attachIps], attachMacs: [...o.spec.attachMacs], attachSubnets: [...o.spec.attachSubnets] },
});

const patched = (pod: Pod, patch: Readonly<Record<string, string | null>>): Pod => {
  const annotations: Record<string, string> = { ...(pod.metadata.annotations ?? {}) };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete annotations[k];
    else annotations[k] = v;
  }
  return { ...pod, metadata: { ...pod.metadata, annotations } };
};

/** The snapshot after `actions`; `snapshot` itself is not changed. */
export const applyActions = (snapshot: Snapshot, actions: readonly Action[]): Snapshot => {
  const ips = new Map<string, Entry<IP>>(snapshot.ips);
  const pods = new Map<string, Entry<Pod>>(snapshot.pods);
  const subnets = new Map<string, Entry<Subnet>>(snapshot.subnets);
  const ippools = new Map<string, Entry<IPPool>>(snapshot.ippools);
  let next = Math.max(APPLIED_ORDER, ...[...snapshot.ips.values()].map((e) => e.order + 1));
  for (const a of actions) {
    switch (a.type) {
      case 'CreateIP':
      case 'UpdateIP': {
        const old = ips.get(a.ip.name);
        ips.set(a.ip.name, { object: ipOf(a.ip, a.type === 'UpdateIP' ? old?.object : undefined), origin: old?.origin ?? { file: 'applied', document: 0 }, order: old?.order ?? next++ });
        break;
      }
      case 'DeleteIP':
        ips.delete(a.target);
        break;
      case 'PatchPodAnnotations': {
        const e = pods.get(a.target);
        if (e !== undefined) pods.set(a.target, { ...e, object: patched(e.object, a.annotations) });
        break;
      }
      case 'UpdateSubnetStatus': {
        const e = subnets.get(a.target);
        if (e !== undefined) subnets.set(a.target, { ...e, object: { ...e.object, status: a.status } });
        break;
      }
      case 'UpdateIPPoolStatus': {
        const e = ippools.get(a.target);
        if (e !== undefined) ippools.set(a.target, { ...e, object: { ...e.object, status: a.status } });
        break;
      }
      case 'EmitEvent':
        break;
    }
  }
  return { ...snapshot, ips, pods, subnets, ippools };
};
