// What the controller writes for an allocation, rendered from a claim: the pod annotations of
// DESIGN §3.2, the IP object of §3.3 and the Subnet status; and the diffs against what the
// snapshot already holds, so a converged cluster plans no writes.
import type { AllocatorMemory } from './AllocatorMemory.js';
import { memoryMatches } from './AllocatorMemory.js';
import { formatMac, formatValue } from './Address.js';
import type { Claim } from './IpamState.js';
import type { IpObject, SubnetStatusView } from './Plan.js';
import { ALLOCATED_TRUE, annotationKey } from './schema/annotations.js';
import type { Pod } from './schema/kube.js';
import type { IP, SubnetStatus } from './schema/kubeovn.js';
import type { Subnet } from './Subnet.js';
import type { ClaimOwner } from './VirtualMachines.js';
import type { SubnetUsage } from './Usage.js';

export const POD_UID_LABEL = 'ipam.kube-ovn.io/pod-uid';
export const SUBNET_LABEL = 'ovn.kubernetes.io/subnet';
export const NODE_LABEL = 'ovn.kubernetes.io/node-name';

export const addressText = (claim: Claim): string =>
  [claim.v4 === undefined ? undefined : formatValue(4, claim.v4), claim.v6 === undefined ? undefined : formatValue(6, claim.v6)]
    .filter((x): x is string => x !== undefined)
    .join(',');

export const macText = (claim: Claim): string => (claim.mac === undefined ? '' : formatMac(claim.mac));

/** CIDRs and gateways of the families the claim holds (`ip_family` may ask for one of two). */
export const subnetTexts = (claim: Claim, subnet: Subnet): { cidr: string; gateway: string } => {
  const pools = [claim.v4 !== undefined ? subnet.v4 : undefined, claim.v6 !== undefined ? subnet.v6 : undefined].filter((p) => p !== undefined);
  return { cidr: pools.map((p) => p.cidrText).join(','), gateway: pools.map((p) => formatValue(p.family, p.gateway)).join(',') };
};

/** The controller-written annotations of one network; `null` removes a key. An IPAM-only
 *  network's `logical_switch` is left as the user wrote it (it may name the subnet). */
export const desiredAnnotations = (provider: string, claim: Claim, subnet: Subnet): Record<string, string | null> => {
  const { cidr, gateway } = subnetTexts(claim, subnet);
  const mac = macText(claim);
  return {
    [annotationKey(provider, 'ip_address')]: addressText(claim),
    [annotationKey(provider, 'mac_address')]: mac === '' ? null : mac,
    [annotationKey(provider, 'cidr')]: cidr,
    [annotationKey(provider, 'gateway')]: gateway,
    ...(subnet.isOvn ? { [annotationKey(provider, 'logical_switch')]: subnet.name } : {}),
    [annotationKey(provider, 'allocated')]: ALLOCATED_TRUE,
  };
};

/** The part of `desired` that differs from the pod's annotations (a minimal merge patch). */
export const annotationDiff = (pod: Pod, desired: Readonly<Record<string, string | null>>): Record<string, string | null> => {
  const current = pod.metadata.annotations ?? {};
  return Object.fromEntries(
    Object.entries(desired).filter(([k, v]) => (v === null ? Object.prototype.hasOwnProperty.call(current, k) : current[k] !== v)),
  );
};

/** The IP object of one claim. `owner` says whose it is (ownerOf): a VM's carries the VM's
 *  name and no pod UID label (its pods come and go, two at once in a migration). */
export const desiredIpObject = (name: string, pod: Pod, claim: Claim, existing: IP | undefined, owner: ClaimOwner): IpObject => {
  const nodeName = existing?.spec.nodeName || pod.spec.nodeName || '';
  const labels: Record<string, string> = { [SUBNET_LABEL]: claim.subnet };
  if (nodeName !== '') labels[NODE_LABEL] = nodeName;
  if (pod.metadata.uid !== undefined && owner.podType !== 'VirtualMachine') labels[POD_UID_LABEL] = pod.metadata.uid;
  return {
    name,
    labels,
    spec: {
      podName: owner.name,
      namespace: pod.metadata.namespace ?? 'default',
      subnet: claim.subnet,
      nodeName,
      ipAddress: addressText(claim),
      v4IpAddress: claim.v4 === undefined ? '' : formatValue(4, claim.v4),
      v6IpAddress: claim.v6 === undefined ? '' : formatValue(6, claim.v6),
      macAddress: macText(claim),
      containerID: existing?.spec.containerID ?? '',
      podType: owner.podType,
      attachIps: [],
      attachMacs: [],
      attachSubnets: [],
    },
  };
};

const specKeys = ['podName', 'namespace', 'subnet', 'nodeName', 'ipAddress', 'v4IpAddress', 'v6IpAddress', 'macAddress', 'containerID', 'podType'] as const;

/** Does the existing IP object already say what `desired` says (spec and our labels)? */
export const ipObjectMatches = (existing: IP, desired: IpObject): boolean =>
  specKeys.every((k) => existing.spec[k] === desired.spec[k]) &&
  Object.entries(desired.labels).every(([k, v]) => existing.metadata.labels?.[k] === v);

/** The status condition that records what canonicalisation corrected in a Subnet's spec (its
 *  warnings): its Warning Event is emitted when the recorded message changes, so once per change. */
export const CORRECTED_CONDITION = 'SpecCorrected';

export const statusOf = (usage: SubnetUsage | undefined, subnetOk: { ok: true; warning?: string } | { ok: false; message: string }, memory?: AllocatorMemory): SubnetStatusView => ({
  v4availableIPs: Number(usage?.v4?.available ?? 0n),
  v4usingIPs: Number(usage?.v4?.using ?? 0n),
  v4availableIPrange: usage?.v4?.availableRange ?? '',
  v4usingIPrange: usage?.v4?.usingRange ?? '',
  v6availableIPs: Number(usage?.v6?.available ?? 0n),
  v6usingIPs: Number(usage?.v6?.using ?? 0n),
  v6availableIPrange: usage?.v6?.availableRange ?? '',
  v6usingIPrange: usage?.v6?.usingRange ?? '',
  conditions: [
    subnetOk.ok
      ? { type: 'Ready', status: 'True', reason: 'Validated', message: '' }
      : { type: 'Ready', status: 'False', reason: 'ValidationFailed', message: subnetOk.message },
    ...(subnetOk.ok && subnetOk.warning !== undefined && subnetOk.warning !== '' ? [{ type: CORRECTED_CONDITION, status: 'True', reason: 'Corrected', message: subnetOk.warning }] : []),
  ],
  ...(memory !== undefined ? { allocator: memory } : {}),
});

export const statusMatches = (current: SubnetStatus | undefined, desired: SubnetStatusView): boolean => {
  if (current === undefined) return false;
  const keys = ['v4availableIPs', 'v4usingIPs', 'v4availableIPrange', 'v4usingIPrange', 'v6availableIPs', 'v6usingIPs', 'v6availableIPrange', 'v6usingIPrange'] as const;
  const same = keys.every((k) => (current[k] ?? (typeof desired[k] === 'number' ? 0 : '')) === desired[k]);
  const conditions = (current.conditions ?? []).map((c) => `${c.type}/${c.status}/${c.reason ?? ''}/${c.message ?? ''}`);
  // Conditions others write are left alone, but a correction no longer made must go.
  const staleCorrection = (current.conditions ?? []).some((c) => c.type === CORRECTED_CONDITION && !desired.conditions.some((d) => d.type === CORRECTED_CONDITION && d.message === (c.message ?? '')));
  return same && !staleCorrection && memoryMatches(current.allocator, desired.allocator) && desired.conditions.every((c) => conditions.includes(`${c.type}/${c.status}/${c.reason}/${c.message}`));
};
