// What the controller's planner state was prepared from, per object of the kinds it does not
// follow event by event (Namespaces' logical_switch and ip_pool annotations, Subnets, IPPools,
// NADs, StatefulSets, KubeVirt's VMs and VMIs, which decide whether a VM's claims stay: only
// their identity and deletion): when an event changes an object's fingerprint, the state is
// prepared afresh; when it does not (a status write, a label), nothing is redone.
import type { Snapshot } from '../domain/Snapshot.js';
import type { WatchedKind } from './ports.js';

/** The part of an object the planner state depends on (status writes do not change it). */
export const fingerprint = (kind: WatchedKind, o: unknown): string => {
  const v = o as { metadata?: { uid?: string; deletionTimestamp?: string; annotations?: Record<string, string> }; spec?: unknown };
  switch (kind) {
    case 'namespaces': return JSON.stringify([v.metadata?.annotations?.['ovn.kubernetes.io/logical_switch'], v.metadata?.annotations?.['ovn.kubernetes.io/ip_pool']]);
    case 'statefulsets': return JSON.stringify([v.spec, v.metadata?.uid, v.metadata?.deletionTimestamp]);
    case 'virtualmachines':
    case 'virtualmachineinstances': return JSON.stringify([v.metadata?.uid, v.metadata?.deletionTimestamp]);
    default: return JSON.stringify(v.spec);
  }
};

export const fingerprintAll = (snap: Snapshot): Map<string, string> => {
  const out = new Map<string, string>();
  for (const kind of ['namespaces', 'subnets', 'ippools', 'nads', 'statefulsets', 'virtualmachines', 'virtualmachineinstances'] as const) {
    for (const [key, e] of snap[kind]) out.set(`${kind}/${key}`, fingerprint(kind, e.object));
  }
  return out;
};
