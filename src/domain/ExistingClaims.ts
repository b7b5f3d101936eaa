// Loading the claims a cluster already holds, before anything is allocated (DESIGN §3.5).
// Sources, per live pod network: the pod's annotations when `allocated` is "true" (what the
// daemon acted on), else an IP object the pod owns (written just before a crash, or kept for
// a StatefulSet pod recreated under a new UID). When both exist and disagree the annotations
// win and the disagreement is reported. IP objects no live pod network owns are released
// (DeleteIP), except those a StatefulSet still wants, those of a KubeVirt VM that its VM or VMI
// still wants (VirtualMachines.ts), reservations (Reservations.ts), and those of a live pod one
// of whose networks cannot be resolved now (it may still use them), which keep their
// addresses. The pods of one VM share its claim: the second restores nothing. Claims from
// annotations are restored first (pods in creation order), then claims from IP objects in the
// IP objects' creation order, then name. A claim that collides with an earlier one is reported
// and not restored.
// A claim that cannot be kept in its own Subnet is reported (ClaimConflict) and its address is
// still held wherever it now falls (shelter), so no address a live pod uses is given twice.
import * as E from 'fp-ts/lib/Either.js';
import type { Address } from './Address.js';
import { parseMac } from './Address.js';
import type { Draft } from './Draft.js';
import type { Claim, ClaimKey } from './IpamState.js';
import { claimIdOf } from './IpamState.js';
import type { PodNetwork } from './Networks.js';
import { podNetworks } from './Networks.js';
import type { PlanContext } from './PlanContext.js';
import { baseProvider, ipName, ownerOf, podKeyOf, podUidOf } from './PlanContext.js';
import { addressText, POD_UID_LABEL } from './Records.js';
import { restoreClaim } from './Rebuild.js';
import { releaseIn } from './Allocator.js';
import { ALLOCATED_TRUE, annotationKey, parseIpAddresses } from './schema/annotations.js';
import type { Pod } from './schema/kube.js';
import type { IP } from './schema/kubeovn.js';
import type { LostReservation } from './Reservations.js';
import { byCreationThenName, isMalformedReservation, isReservation, RESERVED_LABEL, reservationConflict, withReservedMac } from './Reservations.js';
import type { Snapshot } from './Snapshot.js';
import { isOvnProvider, poolOf } from './Subnet.js';
import { livePodsOfVm, vmWants } from './VirtualMachines.js';
import { statefulSetOf, statefulSetWants } from './Workloads.js';

export { RESERVED_LABEL };

export interface LiveNetwork {
  readonly pod: Pod;
  readonly net: PodNetwork;
  readonly key: ClaimKey;
  readonly ipName: string;
  /** Subnet the planner chose for it (when it could), used when nothing else says. */
  readonly subnet: string | undefined;
}

export interface Loaded {
  /** Claim ids that could not be restored, with the reason (the network is then left alone). */
  readonly conflicts: ReadonlyMap<string, string>;
  /** Disagreements resolved without loss, as messages per pod key. */
  readonly notes: readonly { readonly pod: string; readonly provider: string; readonly interface: string; readonly message: string }[];
  /** IP objects to delete: name → reason. */
  readonly deletions: ReadonlyMap<string, string>;
  /** The claims behind `conflicts`, by id, as they were asked for (what `audit` reports). */
  readonly unrestored?: ReadonlyMap<string, Claim>;
  /** Reservations that could not hold their address, by IP object name, in the order they lost. */
  readonly reservations: ReadonlyMap<string, LostReservation>;
}

const addressesOf = (text: string): readonly Address[] | undefined => {
  const parsed = parseIpAddresses(text);
  return E.isRight(parsed) ? parsed.right : undefined;
};

const claimOf = (live: LiveNetwork, subnet: string, addresses: readonly Address[], mac: bigint | undefined): Claim => ({
  id: claimIdOf(live.key),
  key: live.key,
  owner: { namespace: live.pod.metadata.namespace ?? 'default', name: ownerOf(live.pod).name },
  subnet,
  v4: addresses.find((a) => a.family === 4)?.value,
  v6: addresses.find((a) => a.family === 6)?.value,
  mac,
  source: 'existing',
});

const macOf = (text: string | undefined): bigint | undefined => {
  if (text === undefined || text === '') return undefined;
  const m = parseMac(text);
  return E.isRight(m) ? m.right : undefined;
};

/** Is `ip` this pod's (by UID label, or by name when it has no UID label or is a reservation)?
 *  A VM pod's IP objects carry the VM's name and no UID label. */
const owns = (pod: Pod, ip: IP): boolean => {
  const uid = ip.metadata.labels?.[POD_UID_LABEL];
  const sameName = ip.spec.podName === ownerOf(pod).name && ip.spec.namespace === (pod.metadata.namespace ?? 'default');
  return sameName && (uid === undefined || uid === podUidOf(pod) || ip.metadata.labels?.[RESERVED_LABEL] === 'true');
};

/** A StatefulSet pod recreated under a new UID adopts the IP object of its predecessor. */
const adopts = (pod: Pod, ip: IP): boolean =>
  statefulSetOf(pod) !== undefined && ip.spec.podType === 'StatefulSet' && ip.spec.podName === pod.metadata.name && ip.spec.namespace === (pod.metadata.namespace ?? 'default');

const fromIp = (live: LiveNetwork, ip: IP): Claim | undefined => {
  const addresses = addressesOf(ip.spec.ipAddress);
  return addresses === undefined ? undefined : claimOf(live, ip.spec.subnet, addresses, macOf(ip.spec.macAddress));
};

const fromAnnotations = (live: LiveNetwork, ip: IP | undefined): Claim | undefined => {
  const a = live.pod.metadata.annotations ?? {};
  const p = live.net.provider;
  if (a[annotationKey(p, 'allocated')] !== ALLOCATED_TRUE) return undefined;
  const addresses = addressesOf(a[annotationKey(p, 'ip_address')] ?? '');
  if (addresses === undefined) return undefined;
  const subnet = ip?.spec.subnet ?? a[annotationKey(p, 'logical_switch')] ?? live.subnet;
  return subnet === undefined ? undefined : claimOf(live, subnet, addresses, macOf(a[annotationKey(p, 'mac_address')]));
};

const sameClaim = (a: Claim, b: Claim): boolean => a.subnet === b.subnet && a.v4 === b.v4 && a.v6 === b.v6 && a.mac === b.mac;

/** The provider part of an IP object's name (`<pod>.<ns>[.<provider>]`). */
const providerOfIpName = (ip: IP): string => {
  const prefix = `${ip.spec.podName}.${ip.spec.namespace}`;
  return ip.metadata.name.length > prefix.length + 1 ? ip.metadata.name.slice(prefix.length + 1) : 'ovn';
};

/** The network an IP object without a live owner stood for (retained or released). */
const unownedNetwork = (ip: IP, key: ClaimKey, name: string): LiveNetwork => ({
  pod: { metadata: { name: ip.spec.podName, namespace: ip.spec.namespace }, spec: {} },
  net: { provider: key.provider, interface: '', isOvn: false, routes: [] },
  key, ipName: name, subnet: ip.spec.subnet,
});

/** The address space a claim's addresses live in: its Subnet's (OVN, or its provider's), or,
 *  when the Subnet is gone, its network's. */
const spaceOf = (ctx: PlanContext, claim: Claim, provider: string): { readonly ovn: boolean; readonly provider: string } => {
  const spec = ctx.snapshot.subnets.get(claim.subnet)?.object.spec;
  const p = spec === undefined ? provider : spec.provider === undefined || spec.provider === '' ? 'ovn' : spec.provider;
  return { ovn: isOvnProvider(p), provider: p };
};

/** A claim that cannot be kept in its own Subnet (it lost an overlap, became invalid or was
 *  deleted, or its CIDR moved away) still names an address a live pod uses. Each valid Subnet
 *  of the same address space (the overlap rule's: both OVN, or one provider) that holds the
 *  address keeps it: restored there as `<claim id>#held-v4|v6`, released with the pod, never
 *  handed to another pod. Returns the Subnets that hold it. */
const shelter = (ctx: PlanContext, d: Draft, claim: Claim, provider: string): readonly string[] => {
  const space = spaceOf(ctx, claim, provider);
  const where: string[] = [];
  for (const family of [4, 6] as const) {
    const value = family === 4 ? claim.v4 : claim.v6;
    if (value === undefined) continue;
    for (const name of ctx.subnetOrder) {
      const s = ctx.subnets.get(name);
      if (s === undefined || E.isLeft(s) || !((space.ovn && s.right.isOvn) || s.right.provider === space.provider)) continue;
      const pool = poolOf(s.right, family);
      if (pool === undefined || value < pool.cidr.start || value > pool.cidr.end) continue;
      const held: Claim = {
        ...claim, id: `${claim.id}#held-v${family}`, subnet: name, shelteredFrom: claim.subnet,
        v4: family === 4 ? value : undefined, v6: family === 6 ? value : undefined, mac: undefined,
      };
      if (E.isRight(restoreClaim(d, held)) && !where.includes(name)) where.push(name);
    }
  }
  return where;
};

/** Restores every existing claim into the draft. `live` is every network of every live pod,
 *  in planning order. */
export const loadExisting = (ctx: PlanContext, d: Draft, live: readonly LiveNetwork[], now: number): Loaded => {
  const conflicts = new Map<string, string>();
  const notes: { pod: string; provider: string; interface: string; message: string }[] = [];
  const consumed = new Set<string>();
  const unplaced: { readonly claim: Claim; readonly why: string; readonly provider: string }[] = [];
  /** Claim id → the IP object it came from, to name the holder of a contested address. */
  const ipNames = new Map<string, string>();
  const restore = (claim: Claim, provider: string, ipName: string | undefined): boolean => {
    const r = restoreClaim(d, claim);
    if (E.isLeft(r)) unplaced.push({ claim, why: r.left.message, provider });
    else if (ipName !== undefined) ipNames.set(claim.id, ipName);
    return E.isRight(r);
  };
  // Claims from IP objects wait for every claim from annotations, then go in creation order.
  const fromIps: { readonly claim: Claim; readonly ip: IP; readonly name: string; readonly provider: string }[] = [];
  for (const l of live) {
    const ip = ctx.snapshot.ips.get(l.ipName)?.object;
    const mine = ip !== undefined && (owns(l.pod, ip) || adopts(l.pod, ip)) ? ip : undefined;
    if (mine !== undefined) consumed.add(l.ipName);
    const byAnnotations = fromAnnotations(l, mine);
    const byIp = mine && fromIp(l, mine);
    const claim = byAnnotations ?? byIp;
    if (claim === undefined) continue;
    const held = d.claims.get(claim.id);
    if (held !== undefined) {
      // A VM's second live pod (a live migration): the VM's one claim is already restored.
      if (!sameClaim(held, claim)) {
        notes.push({
          pod: podKeyOf(l.pod), provider: l.net.provider, interface: l.net.interface,
          message: `pod annotations say ${addressText(claim)} in ${claim.subnet} but another pod of the same VM holds ${addressText(held)} in ${held.subnet} (the VM's claim, restored once)`,
        });
      }
      continue;
    }
    if (byAnnotations === undefined) {
      if (byIp !== undefined && !fromIps.some((f) => f.claim.id === byIp.id)) fromIps.push({ claim: byIp, ip: mine!, name: l.ipName, provider: baseProvider(l.net) });
      continue;
    }
    if (byIp !== undefined && !sameClaim(byAnnotations, byIp)) {
      notes.push({
        pod: podKeyOf(l.pod), provider: l.net.provider, interface: l.net.interface,
        message: `pod annotations say ${addressText(byAnnotations)} in ${byAnnotations.subnet} but IP object ${l.ipName} says ${addressText(byIp)} in ${byIp.subnet}; keeping the annotations (what the pod uses) and correcting the IP object`,
      });
    }
    restore(byAnnotations, baseProvider(l.net), mine === undefined ? undefined : l.ipName);
  }
  const unowned = [...ctx.snapshot.ips].filter(([name]) => !consumed.has(name));
  const released: [string, IP][] = [];
  const running = new Set(live.flatMap((l) => (ownerOf(l.pod).podType === 'VirtualMachine' ? [`${l.pod.metadata.namespace ?? 'default'}/${ownerOf(l.pod).name}`] : [])));
  for (const [name, entry] of unowned) {
    const ip = entry.object;
    if (isMalformedReservation(ip)) continue;
    if (retainedBy(ctx, ip, (ns, vm) => running.has(`${ns}/${vm}`)) === undefined) {
      released.push([name, ip]);
      continue;
    }
    const key: ClaimKey = { podUid: `retained:${name}`, provider: providerOfIpName(ip) };
    const claim = fromIp(unownedNetwork(ip, key, name), ip);
    if (claim !== undefined) fromIps.push({ claim, ip, name, provider: key.provider });
  }
  const reservationConflicts = new Map<string, string>();
  const reservations = new Map<string, LostReservation>();
  for (const f of [...fromIps].sort(byCreationThenName)) {
    const claim = isReservation(f.ip) ? withReservedMac(d, f.claim, f.name) : f.claim;
    if (restore(claim, f.provider, f.name) || !isReservation(f.ip)) continue;
    const message = reservationConflict(d, claim, f.name, unplaced[unplaced.length - 1]!.why, ipNames);
    reservationConflicts.set(claim.id, message);
    reservations.set(f.name, { claim, message });
  }
  // Every claim kept in its own Subnet first; then those that could not be kept are sheltered
  // where their addresses now fall, so the order of claims never decides who keeps an address.
  for (const u of unplaced) {
    const where = shelter(ctx, d, u.claim, u.provider);
    const held = where.length === 0 ? '' : `; the address stays held (in subnet ${where.join(', ')}) so no other pod is given it`;
    conflicts.set(u.claim.id, reservationConflicts.get(u.claim.id) ?? `existing allocation ${addressText(u.claim)} in subnet ${u.claim.subnet} cannot be kept: ${u.why}${held}`);
  }
  const deletions = new Map<string, string>();
  for (const [name, ip] of released) {
    deletions.set(name, releaseReason(ctx, ip));
    // Released, not forgotten: its addresses are reused only when no never-used one is left.
    const key: ClaimKey = { podUid: `released:${name}`, provider: providerOfIpName(ip) };
    const claim = fromIp(unownedNetwork(ip, key, name), ip);
    if (claim !== undefined && E.isRight(restoreClaim(d, claim))) releaseIn(d, claim.id, now);
  }
  return { conflicts, notes, deletions, reservations, unrestored: new Map(unplaced.map((u) => [u.claim.id, u.claim])) };
};

/** Why an unowned IP object is released (see retainedBy). */
const releaseReason = (ctx: PlanContext, ip: IP): string => {
  const { namespace, podName } = ip.spec;
  if (ip.spec.podType === 'VirtualMachine') {
    return livePodsOfVm(ctx.snapshot, namespace, podName).length > 0
      ? `the pods of VM ${namespace}/${podName} no longer use this network`
      : `VirtualMachine ${namespace}/${podName} and its VirtualMachineInstance are gone or being deleted`;
  }
  const owner = ctx.snapshot.pods.get(`${namespace}/${podName}`)?.object;
  return owner === undefined ? `pod ${namespace}/${podName} is gone` : `pod ${namespace}/${podName} no longer uses this network (or was recreated under a new UID)`;
};

/** Why an IP object without a live owner keeps its address, or undefined when it does not.
 *  A VM's (podType VirtualMachine) is kept while the VM or its VMI wants it and no live pod
 *  of the VM runs without this network (VirtualMachines.ts). */
export const retainedBy = (ctx: PlanContext, ip: IP, vmRuns?: (namespace: string, vm: string) => boolean): string | undefined => {
  if (isReservation(ip)) return 'reserved';
  if (ip.spec.podType === 'VirtualMachine') {
    const runs = vmRuns ?? ((ns: string, vm: string) => livePodsOfVm(ctx.snapshot, ns, vm).length > 0);
    return runs(ip.spec.namespace, ip.spec.podName) ? undefined : vmWants(ctx.snapshot, ip.spec.namespace, ip.spec.podName);
  }
  const owner = ctx.snapshot.pods.get(`${ip.spec.namespace}/${ip.spec.podName}`)?.object;
  const uidLabel = ip.metadata.labels?.[POD_UID_LABEL];
  if (owner !== undefined && (uidLabel === undefined || uidLabel === podUidOf(owner)) && owner.metadata.deletionTimestamp === undefined && owner.status?.phase !== 'Failed' && owner.status?.phase !== 'Succeeded') {
    // A live owner that no longer has this network gave it up (Unplug.ts), unless one of the
    // networks it names cannot be resolved now: it may still use this one.
    const unresolved = podNetworks(ctx.nads, owner, ctx.defaultNetwork).problems;
    return unresolved.length === 0 ? undefined : `pod ${ip.spec.namespace}/${ip.spec.podName} names a network that cannot be resolved now (${unresolved[0]!.message}), so it may still use this one`;
  }
  if (ip.spec.podType !== 'StatefulSet') return undefined;
  const stsName = [...ctx.snapshot.statefulsets.values()]
    .map((e) => e.object)
    .find((s) => s.metadata.namespace === ip.spec.namespace && ip.spec.podName.startsWith(`${s.metadata.name}-`));
  if (stsName === undefined) return undefined;
  const tail = ip.spec.podName.slice(ip.spec.podName.lastIndexOf('-') + 1);
  const member = { statefulSet: stsName.metadata.name, ordinal: /^\d+$/.test(tail) ? Number(tail) : 0, ownerUid: '' };
  return statefulSetWants(ctx.snapshot, ip.spec.namespace, member) ? `StatefulSet ${ip.spec.namespace}/${member.statefulSet} still wants ordinal ${member.ordinal}` : undefined;
};

const ALLOCATED_SUFFIX = '.kubernetes.io/allocated';

/** Does a VM's IP object (podType VirtualMachine) still hold a claim by `snapshot`: a live pod
 *  of the VM has its network allocated, or no pod runs and the VM or its VMI wants it? The
 *  sweep asks just before it deletes one, so a VM recreated since it looked keeps it. */
export const vmHolds = (snapshot: Snapshot, ip: IP): boolean => {
  if (ip.spec.podType !== 'VirtualMachine') return false;
  const { namespace, podName: vm } = ip.spec;
  const pods = livePodsOfVm(snapshot, namespace, vm);
  const uses = (p: Pod): boolean => Object.entries(p.metadata.annotations ?? {}).some(([k, v]) =>
    v === ALLOCATED_TRUE && k.endsWith(ALLOCATED_SUFFIX) && ipName(vm, namespace, k.slice(0, -ALLOCATED_SUFFIX.length)) === ip.metadata.name);
  return pods.length === 0 ? vmWants(snapshot, namespace, vm) !== undefined : pods.some(uses);
};
