// The controller's planner: the same rules as planAll, but kept across reconciles so one pod
// costs O(log n), not a rebuild of the whole cluster. `prepare` is the start-up rebuild (every
// existing claim from IP objects and pod annotations, held addresses, IPPool ranges, earlier
// releases); then each reconcile plans or releases one pod against that state and returns the
// next state. The caller prepares afresh whenever the world changed in a way the state did not
// follow (Subnets, NADs, IPPools, Namespaces, StatefulSets, a re-list, a failed write).
import * as E from 'fp-ts/lib/Either.js';
import { releaseIn } from './Allocator.js';
import type { PlanOptions, PodItems } from './ClusterPlanner.js';
import { givenUpOf, PlanBuilder, planPodIn, planSubnetStatusOf, rememberReleases, reservePoolsIn, resolvePod, restoreMemories } from './ClusterPlanner.js';
import { memoryOf } from './AllocatorMemory.js';
import type { HeldPools } from './PoolHolds.js';
import { holdItemsIn } from './PoolHolds.js';
import { Draft } from './Draft.js';
import type { Loaded } from './ExistingClaims.js';
import { loadExisting, retainedBy } from './ExistingClaims.js';
import type { Claim, ClaimKey, IpamState } from './IpamState.js';
import { claimIdOf, claimsOfPod, emptyState } from './IpamState.js';
import { portDeleteOf } from './OvnPorts.js';
import type { Action, Plan, SubnetStatusView } from './Plan.js';
import type { PlanContext } from './PlanContext.js';
import { buildContext, inCreationOrder, ipName, ownerOf, podUidOf } from './PlanContext.js';
import { POD_UID_LABEL, statusOf } from './Records.js';
import { warningText } from './Subnet.js';
import { subnetUsage } from './Usage.js';
import { restoreClaim } from './Rebuild.js';
import { retryReservations } from './Reservations.js';
import { parseIpAddresses } from './schema/annotations.js';
import type { Pod } from './schema/kube.js';
import type { IP } from './schema/kubeovn.js';
import type { Snapshot } from './Snapshot.js';
import { livePodsOfVm } from './VirtualMachines.js';
import { isGone } from './Workloads.js';

export interface PlannerState {
  readonly ctx: PlanContext;
  readonly ipam: IpamState;
  readonly loaded: Loaded;
  /** Subnets whose allocator memory (status.allocator) was unreadable and ignored, with why. */
  readonly unreadable?: readonly { readonly subnet: string; readonly message: string }[];
  /** The long ip_pool lists `ipam` already holds, by subnet (PoolHolds.ts): a pod of a
   *  workload seen before costs no walk over its pool. */
  readonly heldPools?: HeldPools;
}

const live = (pod: Pod): boolean => pod.spec.hostNetwork !== true && !isGone(pod);

/** The start-up rebuild: every claim the cluster holds, before anything is allocated. */
export const prepare = (snapshot: Snapshot, options: PlanOptions): PlannerState => {
  const ctx = buildContext(snapshot, options);
  const valid = ctx.subnetOrder.flatMap((name) => {
    const s = ctx.subnets.get(name)!;
    return E.isRight(s) ? [s.right] : [];
  });
  const resolved = inCreationOrder(snapshot.pods.values()).map((e) => e.object).filter(live).map((p) => resolvePod(ctx, p));
  const d = new Draft(emptyState(valid, { cooldownMs: options.cooldownMs ?? 0 }));
  const loaded = loadExisting(ctx, d, resolved.flatMap((r) => r.items.map((i) => i.live)), options.now);
  const unreadable = restoreMemories(ctx, d);
  rememberReleases(d, options.released ?? []);
  reservePoolsIn(ctx, d);
  const heldPools = holdItemsIn(d, resolved).held;
  return { ctx, ipam: d.commit(), loaded, unreadable, heldPools };
};

/** IP objects no live pod owns, found by the last prepare: what the sweep may delete. */
export const orphans = (ps: PlannerState): ReadonlyMap<string, string> => ps.loaded.deletions;

/** What releasing one orphan IP object (see `orphans`) takes: its OVN port first (with
 *  `ovn`, when it lies on an OVN Subnet), then the IP object. */
export const releaseOrphan = (ps: PlannerState, snapshot: Snapshot, name: string, reason: string, options: PlanOptions): readonly Action[] => {
  const ip = snapshot.ips.get(name)?.object;
  const port = options.ovn === true && ip !== undefined ? portDeleteOf({ ...ps.ctx, snapshot }, ip, `unplug it from OVN: ${reason}`) : undefined;
  return [...(port === undefined ? [] : [port]), { type: 'DeleteIP', target: name, reason: `release its addresses: ${reason}` }];
};

/** Holds the addresses a newly seen pod names (static or ip_pool) back from dynamic allocation. */
export const holdPod = (ps: PlannerState, snapshot: Snapshot, pod: Pod): PlannerState => {
  const r = resolvePod({ ...ps.ctx, snapshot }, pod);
  const d = new Draft(ps.ipam);
  const { held, wrote } = holdItemsIn(d, [r], ps.heldPools);
  // Nothing to hold, or only a pool this state holds already: the same state goes on.
  return wrote ? { ...ps, ipam: d.commit(), heldPools: held } : ps;
};

/** Plans one live pod against the state; the returned state holds its claims. */
export const planPodWith = (ps: PlannerState, snapshot: Snapshot, podKey: string, options: PlanOptions): { readonly plan: Plan; readonly state: PlannerState } => {
  const pod = snapshot.pods.get(podKey)?.object;
  if (pod === undefined || !live(pod)) return { plan: { allocations: [], actions: [], errors: [] }, state: ps };
  const ctx = { ...ps.ctx, snapshot };
  const d = new Draft(ps.ipam);
  const out = new PlanBuilder();
  const notes = ps.loaded.notes.filter((n) => n.pod === podKey);
  for (const note of notes) out.actions.push({ type: 'EmitEvent', target: note.pod, reason: note.message, event: { type: 'Warning', reason: 'ClaimDisagreement', message: note.message } });
  const r = resolvePod(ctx, pod);
  planPodIn(ctx, d, r, ps.loaded, out, options.now, options.ovn === true);
  out.actions.unshift(...unplugged(ctx, ps, d, r, options));
  // An earlier pod's IP object this plan writes its own claim over is no orphan any more.
  const replaced = new Set(out.actions.flatMap((a) => (a.type === 'UpdateIP' && ps.loaded.deletions.has(a.target) ? [a.target] : [])));
  const loaded = notes.length === 0 && replaced.size === 0 ? ps.loaded : {
    ...ps.loaded,
    notes: ps.loaded.notes.filter((n) => n.pod !== podKey),
    deletions: replaced.size === 0 ? ps.loaded.deletions : new Map([...ps.loaded.deletions].filter(([name]) => !replaced.has(name))),
  };
  return { plan: out.build(), state: { ...ps, ipam: d.commit(), loaded } };
};

/** The networks a live pod gave up (hot-unplug, Unplug.ts): their claims released into `d`,
 *  and the actions that delete their IP objects (each OVN port first), by name. The same IP
 *  objects `plan` releases as owned by no live pod network. Nothing while one of the pod's
 *  networks cannot be resolved. Looked up by name, from the pod's claims and its published
 *  annotations, so a reconcile costs what the pod has, not what the cluster has. */
const unplugged = (ctx: PlanContext, ps: PlannerState, d: Draft, r: PodItems, options: PlanOptions): readonly Action[] => {
  if (r.problems.length > 0 || r.simulated !== undefined) return [];
  const { pod } = r;
  const uid = podUidOf(pod);
  const namespace = pod.metadata.namespace ?? 'default';
  const wanted = new Set(r.items.map((i) => i.net.provider));
  const dropped = claimsOfPod(ps.ipam, uid).filter((c) => !wanted.has(c.key.provider));
  for (const claim of dropped) releaseIn(d, claim.id, options.now);
  const providers = new Set([...dropped.map((c) => c.key.provider), ...givenUpOf(r)]);
  const names = [...providers].map((provider) => ipName(pod.metadata.name, namespace, provider)).sort();
  const ports: Action[] = [];
  const deletes: Action[] = [];
  for (const name of names) {
    const ip = ctx.snapshot.ips.get(name)?.object;
    const label = ip?.metadata.labels?.[POD_UID_LABEL];
    if (ip === undefined || (label !== undefined && label !== uid) || retainedBy(ctx, ip) !== undefined) continue;
    const why = `pod ${namespace}/${pod.metadata.name} no longer uses this network (or was recreated under a new UID)`;
    const port = options.ovn === true ? portDeleteOf(ctx, ip, `unplug it from OVN: ${why}`) : undefined;
    if (port !== undefined) ports.push(port);
    deletes.push({ type: 'DeleteIP', target: name, reason: `release its addresses: ${why}` });
  }
  return [...ports, ...deletes];
};

/** A pod that is gone (deleted, finished, or terminating): its IP objects are deleted and its
 *  claims released, except what its StatefulSet, VM or VMI still wants, which stays held for
 *  the pod that will take its place. A VM's pod whose VM still runs another live pod (a live
 *  migration) releases nothing: that pod holds the VM's claim. */
export const releasePodWith = (ps: PlannerState, snapshot: Snapshot, pod: Pod, options: PlanOptions): { readonly plan: Plan; readonly state: PlannerState } => {
  const ctx = { ...ps.ctx, snapshot };
  const owner = ownerOf(pod);
  const uid = owner.uid;
  const namespace = pod.metadata.namespace ?? 'default';
  if (owner.vm !== undefined && livePodsOfVm(snapshot, namespace, owner.vm).some((p) => podUidOf(p) !== podUidOf(pod))) {
    return { plan: { allocations: [], actions: [], errors: [] }, state: ps };
  }
  const d = new Draft(ps.ipam);
  const actions: Action[] = [];
  const unplug: Action[] = [];
  const ips = [...snapshot.ips.values()].map((e) => e.object).filter((ip) => {
    const label = ip.metadata.labels?.[POD_UID_LABEL];
    return ip.spec.podName === owner.name && ip.spec.namespace === namespace && (label === undefined || label === podUidOf(pod));
  });
  const kept = new Set<string>();
  for (const ip of ips) {
    const claim = claimsOfPod(ps.ipam, uid).find((c) => ipName(owner.name, namespace, c.key.provider) === ip.metadata.name);
    if (retainedBy(ctx, ip) !== undefined) {
      if (claim !== undefined) {
        // Re-key it as retained, for the StatefulSet's next pod of this name (the VM's next pod).
        releaseIn(d, claim.id, options.now);
        const key: ClaimKey = { podUid: `retained:${ip.metadata.name}`, provider: claim.key.provider };
        restoreClaim(d, { ...claim, id: claimIdOf(key), key });
        kept.add(claim.id);
      }
      continue;
    }
    const gone = owner.vm === undefined ? `pod ${namespace}/${pod.metadata.name} is gone` : `pod ${namespace}/${pod.metadata.name} of VM ${namespace}/${owner.vm} is gone, and the VM and its VMI are gone or being deleted`;
    const port = options.ovn === true ? portDeleteOf(ctx, ip, `unplug it from OVN: ${gone}`) : undefined;
    if (port !== undefined) unplug.push(port);
    actions.push({ type: 'DeleteIP', target: ip.metadata.name, reason: `release its addresses: ${gone}` });
  }
  // Every port goes before any IP object (one OVN transaction), so no port outlives its claim.
  actions.unshift(...unplug);
  for (const claim of claimsOfPod(d.commit(), uid)) if (!kept.has(claim.id)) releaseIn(d, claim.id, options.now);
  const loaded = reservationsRetried(d, ps.loaded);
  const state = { ...ps, ipam: d.commit(), loaded };
  // Recount where the claims were held too: a sheltered claim lies in another Subnet than its IP object names.
  const subnets = new Set([...ips.map((ip) => ip.spec.subnet), ...claimsOfPod(ps.ipam, uid).map((c) => c.subnet)]);
  for (const name of [...subnets].sort()) {
    const status = planSubnetStatusOf(ctx, state.ipam, name);
    if (status !== undefined) actions.push(status);
  }
  return { plan: { allocations: [], actions, errors: [] }, state };
};

/** A lost reservation whose address a release freed holds it now (Reservations.ts), as a
 *  fresh plan would decide: its conflict goes, and its pod is given the address. */
const reservationsRetried = (d: Draft, loaded: Loaded): Loaded => {
  const restored = loaded.reservations.size === 0 ? undefined : retryReservations(d, loaded.reservations);
  if (restored === undefined) return loaded;
  const ids = new Set([...restored].map((name) => loaded.reservations.get(name)!.claim.id));
  return {
    ...loaded,
    conflicts: new Map([...loaded.conflicts].filter(([id]) => !ids.has(id))),
    reservations: new Map([...loaded.reservations].filter(([name]) => !restored.has(name))),
  };
};

/** The status one Subnet should have, from the state (undefined for an unknown Subnet). */
export const statusViewWith = (ps: PlannerState, snapshot: Snapshot, subnet: string): SubnetStatusView | undefined => {
  const s = ps.ctx.subnets.get(subnet);
  if (s === undefined || !snapshot.subnets.has(subnet)) return undefined;
  return E.isRight(s) ? statusOf(subnetUsage(ps.ipam, subnet), { ok: true, warning: warningText(s.right) }, memoryOf(ps.ipam, subnet)) : statusOf(undefined, { ok: false, message: s.left.message });
};

/** The status action of one Subnet from the state, if the Subnet's status is not right. */
export const subnetStatusWith = (ps: PlannerState, snapshot: Snapshot, subnet: string): Action | undefined =>
  planSubnetStatusOf({ ...ps.ctx, snapshot }, ps.ipam, subnet);

/** The claim the state holds for this IP object's addresses (in its subnet), by address. */
export const holderOf = (ps: PlannerState, ip: IP): Claim | undefined => {
  const s = ps.ipam.subnets.get(ip.spec.subnet);
  const addresses = parseIpAddresses(ip.spec.ipAddress);
  if (s === undefined || E.isLeft(addresses) || addresses.right.length === 0) return undefined;
  const ids = addresses.right.map((a) => (a.family === 4 ? s.v4 : s.v6)?.used.get(a.value));
  const id = ids[0];
  return id !== undefined && ids.every((x) => x === id) ? ps.ipam.claims.get(id) : undefined;
};

