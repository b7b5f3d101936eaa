// KubeVirt VMs keep their addresses (Kube-OVN's keep-vm-ip, always on here).
// Rules:
// - A pod is a VM pod when an ownerReference of kind VirtualMachineInstance with apiVersion
//   `kubevirt.io/*` owns it (KubeVirt's virt-launcher pods; Kube-OVN's isVMPod). Its VM is
//   named as the VMI (KubeVirt names a VM's VMI after the VM).
// - A VM pod claims under the VM, not under itself: identity `vm:<ns>/<vm>` (instead of the
//   pod UID), owner name and IP object names `<vm>.<ns>[.<provider>]`, podType
//   `VirtualMachine`, and the pod gets `ovn.kubernetes.io/virtualmachine: <vm>`. So a
//   restarted VM (a new launcher pod, new UID) and both launcher pods of a live migration
//   hold one claim, and the addresses and MACs stay.
// - The claim of a VM no live pod runs is kept while its VMI exists and is not being deleted,
//   or while its VirtualMachine exists and is not being deleted (Kube-OVN's isVMToDel); so a
//   stopped VM keeps its addresses, a standalone VMI keeps them while it exists, and they go
//   when the VM is deleted. A live pod of the VM that no longer attaches a network lets that
//   network's claim go (hot-unplug).
// Every other pod keeps the identity of DESIGN §3.4 (its UID plus the interface).
import type { Pod } from './schema/kube.js';
import type { Snapshot } from './Snapshot.js';
import { isGone, statefulSetOf } from './Workloads.js';

export const VM_ANNOTATION = 'ovn.kubernetes.io/virtualmachine';

export type PodType = '' | 'StatefulSet' | 'VirtualMachine';

/** Whom a pod's claims belong to: the pod itself, or its VM. */
export interface ClaimOwner {
  /** `spec.podName` of its IP objects, and the first part of their names. */
  readonly name: string;
  /** The claim identity: the pod's UID, or `vm:<ns>/<vm>`. */
  readonly uid: string;
  readonly podType: PodType;
  /** Set for a VM pod: the VM's name. */
  readonly vm?: string | undefined;
}

/** The VM a pod runs (its VMI's name), or undefined for any other pod. */
export const virtualMachineOf = (pod: Pod): string | undefined =>
  (pod.metadata.ownerReferences ?? []).find((o) => o.kind === 'VirtualMachineInstance' && o.apiVersion.startsWith('kubevirt.io/'))?.name;

export const vmIdentity = (namespace: string, vm: string): string => `vm:${namespace}/${vm}`;

/** Whom the pod's claims belong to; `podUid` is the pod's own identity (PlanContext.podUidOf). */
export const claimOwnerOf = (pod: Pod, podUid: string): ClaimOwner => {
  const vm = virtualMachineOf(pod);
  if (vm !== undefined) return { name: vm, uid: vmIdentity(pod.metadata.namespace ?? 'default', vm), podType: 'VirtualMachine', vm };
  return { name: pod.metadata.name, uid: podUid, podType: statefulSetOf(pod) !== undefined ? 'StatefulSet' : '' };
};

/** The live pods (not host network, not gone) of one VM, in the snapshot's order. A scan of
 *  every pod: for a pod's release and the sweep, which read the whole snapshot anyway. */
export const livePodsOfVm = (snapshot: Snapshot, namespace: string, vm: string): readonly Pod[] =>
  [...snapshot.pods.values()].map((e) => e.object).filter((p) =>
    (p.metadata.namespace ?? 'default') === namespace && p.spec.hostNetwork !== true && !isGone(p) && virtualMachineOf(p) === vm);

/** Why a VM's claims stay while no live pod of it holds them, or undefined when they go. */
export const vmWants = (snapshot: Snapshot, namespace: string, vm: string): string | undefined => {
  const vmi = snapshot.virtualmachineinstances.get(`${namespace}/${vm}`)?.object;
  if (vmi !== undefined && vmi.metadata.deletionTimestamp === undefined) return `VirtualMachineInstance ${namespace}/${vm} exists`;
  const machine = snapshot.virtualmachines.get(`${namespace}/${vm}`)?.object;
  if (machine !== undefined && machine.metadata.deletionTimestamp === undefined) return `VirtualMachine ${namespace}/${vm} exists`;
  return undefined;
};
